"""The SOS-1K fit-on-train experiment writes its adapted catalogue only into the temp dir it is given."""

from __future__ import annotations

from pathlib import Path

from benchmarks import sos_train
from bot.triage.catalogue import DEFAULT_DATA_DIR, YamlCatalogueSource


def test_extra_crisis_examples_go_into_a_valid_override_and_the_shipped_file_is_untouched(tmp_path: Path) -> None:
    shipped = (DEFAULT_DATA_DIR / "safety.yml").read_bytes()
    extra = ["这是测试用的第一句", "这是测试用的第二句"]

    override = sos_train.adapted_data_dir(tmp_path, extra)

    assert override == tmp_path / "catalogue"
    adapted = YamlCatalogueSource(override_dir=override).load().safety
    original = YamlCatalogueSource().load().safety
    # the writers' batches (bot/data/writers/) are read on top of the adapted safety.yml, so the order differs
    assert sorted(adapted.crisis_examples) == sorted([*original.crisis_examples, *extra])
    assert adapted.crisis_negatives == original.crisis_negatives  # only the examples grow
    assert (DEFAULT_DATA_DIR / "safety.yml").read_bytes() == shipped
