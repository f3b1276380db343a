"""How long a staff edit of the catalogue takes to go live: `make bench` part `catalogue_edit`.

    python -m benchmarks.catalogue_edit

A copy of bot/data in a temp dir, a fresh model cache, the real embedding model and the real engine
(synchronous refits, so each call pays its own refit). After the first fit, four typical edits are
made one after the other, each timed from the edit to the first decision on the new catalogue:
an FAQ answer reworded (no model depends on it), one example added to desk 12355, one to desk 12345,
one crisis example (every desk's classifier and the safety model learn from those).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.triage.catalogue import CatalogueStore, YamlCatalogueSource
from bot.triage.engine import TriageEngine

BUNDLED = Path(__file__).resolve().parent.parent / "bot" / "data"


def _insert_after(relative: str, anchor: str, addition: str) -> Callable[[Path], None]:
    """An edit that inserts `addition` after the first `anchor` of a catalogue file."""

    def edit(data: Path) -> None:
        path = data / relative
        text = path.read_text(encoding="utf-8")
        if anchor not in text:
            raise ValueError(f"{relative} no longer contains {anchor!r}: update benchmarks/catalogue_edit.py")
        path.write_text(text.replace(anchor, anchor + addition, 1), encoding="utf-8")

    return edit


EDITS: list[tuple[str, Callable[[Path], None]]] = [
    ("faq_answer_reworded", _insert_after("faq/12345.yml", "不收取任何服务费用", "（任何情况下都不收费）")),
    (
        "example_added_12355",
        _insert_after("desks/12355.yml", "    examples:\n", "      - 最近心里老是堵得慌，不知道找谁说\n"),
    ),
    (
        "example_added_12345",
        _insert_after("desks/12345.yml", "    examples:\n", "      - 楼下烧烤摊的油烟天天熏到半夜\n"),
    ),
    ("crisis_example_added", _insert_after("safety.yml", "  examples:\n", "    - 我把药都攒好了，就等今晚\n")),
]


def run(progress: Callable[[str], None] = lambda _msg: None) -> dict[str, Any]:
    """Seconds from each edit to the first decision on the new catalogue, and which parts refitted."""
    with tempfile.TemporaryDirectory(prefix="frontdoor-edit-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(BUNDLED, data)
        engine = TriageEngine(
            CatalogueStore(YamlCatalogueSource(data), min_interval=0.0), cache_dir=Path(tmp) / "cache"
        )
        encoder_warm_up = getattr(engine.embedder, "warm_up", None)
        if callable(encoder_warm_up):
            encoder_warm_up()  # load the embedding model now, so the first figure is the fit alone
        results: dict[str, Any] = {}
        progress("first fit of every part")
        started = time.monotonic()
        engine.decide("路灯坏了", "12345")
        results["first_fit_s"] = round(time.monotonic() - started, 1)
        for name, edit in EDITS:
            progress(name)
            version = engine.store.version
            edit(data)
            started = time.monotonic()
            engine.store.get()  # re-reads the files when they changed
            while engine.store.version == version:  # file times have a coarse clock on some filesystems
                if time.monotonic() - started > 10:
                    raise RuntimeError(f"the catalogue store did not notice the edit {name!r} within 10 s")
                time.sleep(0.01)
                engine.store.get()
            engine.decide("路灯坏了", "12345")
            results[f"{name}_s"] = round(time.monotonic() - started, 1)
            results[f"{name}_refitted"] = list(engine._current().refitted)
        return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(lambda msg: print(f"[catalogue_edit] {msg} ...", flush=True)), indent=2))
