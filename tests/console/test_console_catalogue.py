"""Catalogue and FAQ editor: validated, versioned, written atomically to the override folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from console_support import Staff, csrf_from, login
from starlette.testclient import TestClient

from bot.console import overrides
from bot.console.state import ConsoleState
from bot.settings import Settings

FAQ = "/console/catalogue/12355/faq"


def live(settings: Settings) -> str:
    return overrides.read_effective(settings, "faq", "12355")


def save(client: TestClient, token: str, content: str, base: int = 0, **extra: str) -> object:
    data = {"csrf_token": token, "content": content, "base_version": str(base), "comment": "测试修改", **extra}
    return client.post(FAQ, data=data)


def test_agents_may_not_edit_and_supervisors_only_their_desks(client: TestClient, staff: Staff) -> None:
    login(client, staff.agent)
    assert client.get("/console/catalogue/12345/faq").status_code == 403
    login(client, staff.supervisor)  # serves 12345 only
    assert client.get("/console/catalogue/12345/faq").status_code == 200
    assert client.get(FAQ).status_code == 404
    assert client.get("/console/catalogue/12345/secrets").status_code == 404
    index = client.get("/console/catalogue").text
    assert "/console/catalogue/12345/desk" in index and "/console/catalogue/12355" not in index


def test_a_valid_edit_goes_live_in_the_override_folder_with_a_version(
    client: TestClient, staff: Staff, settings: Settings, console: ConsoleState
) -> None:
    token = login(client, staff.admin)
    bundled = overrides.bundled_path("faq", "12355").read_text(encoding="utf-8")
    edited = bundled.replace(
        "faqs:",
        "faqs:\n  - id: console_test\n    question: 测试问题？\n    paraphrases: [甲, 乙]\n    answer: 测试答案。",
        1,
    )
    response = save(client, token, edited)
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    path = settings.data_dir / "catalogue" / "faq" / "12355.yml"
    assert path.read_text(encoding="utf-8") == edited
    assert overrides.bundled_path("faq", "12355").read_text(encoding="utf-8") == bundled  # never touched
    manifest = json.loads((settings.data_dir / "catalogue" / "versions.json").read_text(encoding="utf-8"))
    assert manifest["faq/12355.yml"]["version"] == 1 and manifest["faq/12355.yml"]["author"] == staff.admin
    page = client.get(FAQ).text
    assert "第1版" in page and "测试修改" in page and "console_test" in page
    assert not list(path.parent.glob(".*.tmp"))  # the temporary file was renamed, not left behind
    assert any(e.action == "catalogue_saved" for e in console.store.staff_audit_log())


def test_a_yaml_error_is_refused_with_its_line_and_nothing_is_written(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    token = login(client, staff.admin)
    broken = live(settings).replace("faqs:", "faqs:\n  - id: [unclosed", 1)
    response = save(client, token, broken)
    assert response.status_code == 400  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "YAML 语法错误" in text and "文件第" in text
    assert 'data-error-line="' in text
    assert not (settings.data_dir / "catalogue" / "faq" / "12355.yml").exists()


def test_a_schema_error_is_refused_with_the_reason(client: TestClient, staff: Staff, settings: Settings) -> None:
    token = login(client, staff.admin)
    original = live(settings)
    first_id = overrides.entry_spans(original)[0].id
    second_id = overrides.entry_spans(original)[1].id
    duplicate = original.replace(f"- id: {second_id}", f"- id: {first_id}", 1)
    response = save(client, token, duplicate)
    assert response.status_code == 400 and "duplicate id" in response.text  # type: ignore[attr-defined]
    no_answer = 'desk: "12355"\nfaqs:\n  - id: only_one\n    question: 问题？\n    paraphrases: [a]\n'
    response = save(client, token, no_answer)
    assert response.status_code == 400 and "answer" in response.text  # type: ignore[attr-defined]
    wrong_desk = original.replace('desk: "12355"', 'desk: "12345"', 1)
    response = save(client, token, wrong_desk)
    assert response.status_code == 400 and "desk 字段" in response.text  # type: ignore[attr-defined]
    assert not (settings.data_dir / "catalogue" / "faq" / "12355.yml").exists()


def test_editing_one_entry_keeps_the_rest_of_the_file_byte_for_byte(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    token = login(client, staff.admin)
    original = live(settings)
    span = overrides.entry_spans(original)[2]
    page = client.get(f"{FAQ}?entry={span.id}")
    assert page.status_code == 200 and f"条目 {span.id}" in page.text
    entry = overrides.entry_text(original, span)
    new_entry = entry.replace("answer:", "answer: 【已更新】", 1)
    response = save(client, token, new_entry, entry=span.id)
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    written = (settings.data_dir / "catalogue" / "faq" / "12355.yml").read_text(encoding="utf-8")
    assert written == original.replace(entry, new_entry, 1)
    bad = save(client, token, entry.replace("answer:", "answer: [", 1), base=1, entry=span.id)
    assert bad.status_code == 400 and "本条目第" in bad.text  # type: ignore[attr-defined]
    assert client.get(f"{FAQ}?entry=no_such_entry").status_code == 404


def test_a_stale_base_version_is_a_conflict_not_a_silent_overwrite(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    token = login(client, staff.admin)
    original = live(settings)
    assert save(client, token, original + "# first\n", base=0).status_code == 303  # type: ignore[attr-defined]
    stale = save(client, token, original + "# second\n", base=0)
    assert stale.status_code == 409 and "第1版" in stale.text  # type: ignore[attr-defined]
    assert live(settings).endswith("# first\n")


def test_unchanged_content_is_not_a_new_version(client: TestClient, staff: Staff, settings: Settings) -> None:
    token = login(client, staff.admin)
    response = save(client, token, live(settings))
    assert response.status_code == 400 and "没有变化" in response.text  # type: ignore[attr-defined]


def test_version_page_shows_the_diff_and_restore_publishes_it_again(
    client: TestClient, staff: Staff, settings: Settings
) -> None:
    token = login(client, staff.admin)
    original = live(settings)
    save(client, token, original + "# v1\n", base=0)
    save(client, token, original + "# v2\n", base=1)
    page = client.get(f"{FAQ}/versions/2")
    assert page.status_code == 200 and "+# v2" in page.text and "-# v1" in page.text
    assert client.get(f"{FAQ}/versions/9").status_code == 404
    restore = client.post(f"{FAQ}/versions/1/restore", data={"csrf_token": csrf_from(page.text)})
    assert restore.status_code == 303
    assert live(settings).endswith("# v1\n")
    assert "恢复到第1版" in client.get(FAQ).text and "第3版" in client.get(FAQ).text


def test_the_triage_loader_accepts_the_published_override(client: TestClient, staff: Staff, settings: Settings) -> None:
    """The contract: bundled files, with the override folder's files in their place, load as one catalogue."""
    from bot.triage.catalogue import YamlCatalogueSource

    token = login(client, staff.admin)
    save(client, token, live(settings) + "# published\n")
    with overrides._candidate_tree(settings, "faq", "12355", live(settings)) as root:
        catalogue = YamlCatalogueSource(root).load()
    assert "12355" in catalogue.desks and catalogue.desks["12355"].faqs


def test_the_editor_says_when_a_release_changed_the_file_an_override_replaces(
    client: TestClient, staff: Staff, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = tmp_path / "release"
    shutil.copytree(overrides.BUNDLED_DIR, release)
    monkeypatch.setattr(overrides, "BUNDLED_DIR", release)
    token = login(client, staff.admin)
    edited = live(settings).replace(
        "faqs:", "faqs:\n  - id: local_faq\n    question: 本地问题？\n    paraphrases: [甲]\n    answer: 本地答案。", 1
    )
    assert save(client, token, edited).status_code == 303  # type: ignore[attr-defined]
    assert 'id="release-changed"' not in client.get(FAQ).text

    bundled = release / "faq" / "12355.yml"
    bundled.write_text(
        bundled.read_text(encoding="utf-8").replace(
            "faqs:",
            "faqs:\n  - id: new_in_release\n    question: 新问题？\n    paraphrases: [丙]\n    answer: 新答案。",
            1,
        ),
        encoding="utf-8",
    )
    page = client.get(FAQ).text
    assert 'id="release-changed"' in page and "new_in_release" in page  # the release's addition is in the diff
    assert "发布版已更新，待合并" in client.get("/console/catalogue").text
