"""SOS-1K with the CLINC protocol: fit on train, report on test (an experiment beside the shipped screen).

The shipped safety screen never sees SOS-1K: its crisis examples are our own sentences, and SOS-1K
test only measures it. This variant asks a different question: what does the same engine do when
a deployment adds in-domain examples of its own? SOS-1K's *train* split stands in for them: its
high-risk posts are appended to the crisis examples of a copy of `bot/data/safety.yml` in a temp
dir (the override dir the staff console also writes to), every model is refitted there, and the
test split is read once. Nothing is written into the repo; the texts stay in memory and the temp dir.

    python -m benchmarks.sos_train     # counts only (never the texts)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from benchmarks import datasets
from bot.triage.catalogue import DEFAULT_DATA_DIR, YamlCatalogueSource


def high_risk_train() -> list[str]:
    """SOS-1K train posts with binary_high_risk=1; [] when the data is absent."""
    rows = datasets.sos1k("train")
    return [text for text, _level, high in rows or [] if high == 1]


def adapted_data_dir(tmp: Path, examples: list[str]) -> Path:
    """Write the shipped safety.yml plus `examples` as crisis examples to tmp/catalogue/; return that dir.

    The copy is validated like any catalogue edit (a broken file raises CatalogueError).
    """
    doc = yaml.safe_load((DEFAULT_DATA_DIR / "safety.yml").read_text(encoding="utf-8"))
    doc["crisis"]["examples"] = [*doc["crisis"]["examples"], *examples]
    override = tmp / "catalogue"
    override.mkdir(parents=True, exist_ok=True)
    (override / "safety.yml").write_text(
        yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8"
    )
    YamlCatalogueSource(override_dir=override).load()
    return override


def main() -> int:
    examples = high_risk_train()
    if not examples:
        print("[sos_train] ../shared/data/sos1k not found: skipped", file=sys.stderr)
        return 0
    print(json.dumps({"high_risk_train_posts": len(examples)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
