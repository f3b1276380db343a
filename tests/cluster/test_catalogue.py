"""A catalogue edit saved in one instance's console is live on the other within 5 s: it reaches the
other's override folder, which its triage engine serves (bot/console/catalogue_sync.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.console import overrides
from bot.console.accounts import StaffAccounts
from bot.db.engine import session_factory
from bot.tickets.models import utcnow
from bot.triage.catalogue.source import YamlCatalogueSource
from bot.triage.catalogue.store import CatalogueStore
from tests.cluster.conftest import wait_until
from tests.support.console import csrf_from

FAQ = "/console/catalogue/12355/faq"
PASSWORD = "cluster-Test-password-1"

pytestmark = pytest.mark.integration  # starts app processes on a real PostgreSQL


def served_faq_ids(data_dir: Path) -> set[str]:
    """The FAQ ids of desk 12355 as that instance's triage engine loads them (its override folder)."""
    store = CatalogueStore(YamlCatalogueSource(override_dir=data_dir / "catalogue"), min_interval=0)
    return {faq.id for faq in store.get().desk("12355").faqs}


def test_an_edit_on_one_instance_is_live_on_the_other_within_5_seconds(
    start_instance: Any, engine: Engine, tmp_path: Path
) -> None:
    a, _b = start_instance("a"), start_instance("b")
    StaffAccounts(session_factory(engine), clock=utcnow).create_user(
        "root.admin", PASSWORD, role="admin", desks=["12345", "12355"]
    )
    assert "cluster_test" not in served_faq_ids(tmp_path / "b")
    bundled = overrides.bundled_path("faq", "12355").read_text(encoding="utf-8")
    edited = bundled.replace(
        "faqs:",
        "faqs:\n  - id: cluster_test\n    question: 集群测试？\n    paraphrases: [甲, 乙]\n    answer: 集群答案。",
        1,
    )
    with httpx.Client(base_url=a.url, timeout=60) as console:
        page = console.get("/console/login")
        login = console.post(
            "/console/login",
            data={
                "username": "root.admin",
                "password": PASSWORD,
                "csrf_token": csrf_from(page.text),
                "next": "/console/",
            },
        )
        assert login.status_code == 303, login.text
        token = csrf_from(console.get(FAQ).text)
        saved = console.post(
            FAQ, data={"csrf_token": token, "content": edited, "base_version": "0", "comment": "集群测试"}
        )
        saved_at = time.monotonic()
    assert saved.status_code == 303, saved.text
    assert "cluster_test" in served_faq_ids(tmp_path / "a")  # live where it was saved

    wait_until(lambda: "cluster_test" in served_faq_ids(tmp_path / "b"), 5, "the edit is live on instance b")
    assert time.monotonic() - saved_at < 5
    assert (tmp_path / "b" / "catalogue" / "faq" / "12355.yml").read_text(encoding="utf-8") == edited
