"""`make masking`: how much personal data still shows after `bot.privacy.mask`, and what masking costs.

Reads the 4,326 unlabeled government messages (title + body) from `../shared/data` in place (nothing
is copied, no text is printed) and counts, before and after masking, the messages that still show:

* an 11-digit mobile number (1[3-9] + 9 digits, spaces and hyphens between digits ignored);
* an 18-character ID-card shape (17 digits + digit or X, any digits, no date or check-digit test);
* a street number (路/街/巷/弄/道 + digits + 号/號/弄), a unit or room number (digits + 单元/室, or
  a building with a number after it); building numbers alone (N栋) are counted apart: counts and
  ranges ("一共有12栋楼", "7-9-10栋") stay by design.

The detectors are deliberately broader than the masking rules, so a leak the rules miss is counted.
Then it times `mask` on every message (the gateway calls it on every logged message): mean, p50, p99,
and on the titles alone, which are as long as a chat message.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable

from benchmarks import datasets
from bot.privacy import fold, mask

_BETWEEN_DIGITS = re.compile(r"(?<=\d)[ \-](?=\d)")
MOBILE_SHOWN = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_SHOWN = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
STREET_SHOWN = re.compile(r"[路街巷弄道衖]\s*\d{1,5}\s*[号號弄](?!线|線)")
DOOR_SHOWN = re.compile(r"\d{1,5}\s*(?:单元|單元|室)(?!\s*\d\s*[厅廳])|\d{1,4}\s*(?:栋|幢|棟)\s*\d")
BUILDING_SHOWN = re.compile(r"\d{1,4}\s*(?:栋|幢|棟)")
TOKENS = re.compile(
    r"\[(?:证件号|卡号|电话|邮箱|QQ号|微信号|车牌|门牌|学校班级)\]|\d{3}\*{4}\d{4}|\d{3}\*{11}[\dXx]{4}"
)


def _digits_joined(text: str) -> str:
    return _BETWEEN_DIGITS.sub("", fold(text))


DETECTORS: dict[str, Callable[[str], bool]] = {
    "11-digit mobile": lambda t: bool(MOBILE_SHOWN.search(_digits_joined(t))),
    "18-character ID": lambda t: bool(ID_SHOWN.search(_digits_joined(t))),
    "street number (路/街/巷/弄 + digits + 号)": lambda t: bool(STREET_SHOWN.search(fold(t))),
    "unit or room number (单元/室, 栋 + number)": lambda t: bool(DOOR_SHOWN.search(fold(t))),
    "building number alone (N栋; counts and ranges kept by design)": lambda t: bool(BUILDING_SHOWN.search(fold(t))),
}


def leak_counts(texts: list[str]) -> dict[str, int]:
    """How many texts each detector fires on."""
    return {name: sum(1 for t in texts if seen(t)) for name, seen in DETECTORS.items()}


def timing(texts: list[str], rounds: int = 3) -> dict[str, float]:
    """Per-message time of `mask`, best of `rounds` passes for the mean; p50/p99 from the last pass."""
    per_message: list[float] = []
    best_total = float("inf")
    for _ in range(rounds):
        per_message = []
        started = time.perf_counter()
        for text in texts:
            t0 = time.perf_counter()
            mask(text)
            per_message.append((time.perf_counter() - t0) * 1000)
        best_total = min(best_total, time.perf_counter() - started)
    per_message.sort()
    return {
        "messages": len(texts),
        "mean_chars": statistics.mean(len(t) for t in texts),
        "mean_ms": best_total * 1000 / len(texts),
        "p50_ms": per_message[len(per_message) // 2],
        "p99_ms": per_message[int(len(per_message) * 0.99)],
        "max_ms": per_message[-1],
    }


def report(texts: list[str]) -> dict[str, object]:
    masked = [mask(t) for t in texts]
    tokens: Counter[str] = Counter()
    for text in masked:
        for token in TOKENS.findall(text):
            tokens["[手机]" if "****" in token and len(token) == 11 else "[身份证]" if "*" in token else token] += 1
    return {
        "before": leak_counts(texts),
        "after": leak_counts(masked),
        "changed_messages": sum(1 for a, b in zip(texts, masked, strict=True) if a != b),
        "masks_applied": dict(tokens.most_common()),
        "timing": timing(texts),
        "timing_titles": timing([t.split("\n", 1)[0] for t in texts]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    texts = datasets.gov_unlabeled()
    if texts is None:
        print("[masking] ../shared/data/gov_messages/unlabeled_4326.jsonl not found: skipped", file=sys.stderr)
        return 0
    figures = report(texts)
    before, after = figures["before"], figures["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    print(f"| messages still showing ... ({len(texts):,} unlabeled gov messages) | before masking | after masking |")
    print("|---|---|---|")
    for name in DETECTORS:
        print(f"| {name} | {before[name]} | {after[name]} |")
    print(f"\nmessages changed by masking: {figures['changed_messages']}")
    print("masks applied: " + ", ".join(f"{k} {v}" for k, v in dict(figures["masks_applied"]).items()))  # type: ignore[call-overload]
    t = figures["timing"]
    assert isinstance(t, dict)
    print(
        f"mask() speed: {t['mean_ms']:.3f} ms per message on average (mean {t['mean_chars']:.0f} characters), "
        f"p50 {t['p50_ms']:.3f} ms, p99 {t['p99_ms']:.3f} ms, max {t['max_ms']:.2f} ms"
    )
    t = figures["timing_titles"]
    assert isinstance(t, dict)
    print(
        f"mask() speed on the titles alone (chat-length, mean {t['mean_chars']:.0f} characters): "
        f"{t['mean_ms']:.3f} ms per message, p99 {t['p99_ms']:.3f} ms"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, ensure_ascii=False, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
