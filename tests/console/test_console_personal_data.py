"""Export and erasure on request from the ticket page: admins only, CSRF-checked, audited."""

from __future__ import annotations

from collections.abc import Callable

from console_support import Staff, login
from starlette.testclient import TestClient

from bot.console.state import ConsoleState
from bot.tickets.models import Ticket


def test_an_agent_sees_no_button_and_is_refused(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket]
) -> None:
    ticket = new_ticket()
    token = login(client, staff.agent)
    assert "删除此人的全部个人信息" not in client.get(f"/console/tickets/{ticket.id}").text
    for action in ("export", "erase"):
        response = client.post(
            f"/console/tickets/{ticket.id}/personal-data/{action}", data={"csrf_token": token, "confirm": ticket.number}
        )
        assert response.status_code == 403


def test_an_admin_exports_then_erases_and_the_audit_log_says_what(
    client: TestClient, staff: Staff, console: ConsoleState, new_ticket: Callable[..., Ticket]
) -> None:
    ticket = new_ticket()
    other = new_ticket()
    console.store.add_contact(ticket.id, kind="phone", value="13812345678", consent_text="同意")
    console.store.add_note(ticket.id, actor=staff.admin, text="张三的家长来电")
    token = login(client, staff.admin)
    page = client.get(f"/console/tickets/{ticket.id}").text
    assert "删除此人的全部个人信息" in page

    assert (
        client.post(f"/console/tickets/{ticket.id}/personal-data/export", data={}).status_code == 403
    )  # no CSRF token
    exported = client.post(f"/console/tickets/{ticket.id}/personal-data/export", data={"csrf_token": token})
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    held = exported.json()
    assert held["contacts"][0]["value"] == "13812345678"
    assert any(e["details"].get("text") == "张三的家长来电" for e in held["ticket_events"])

    refused = client.post(
        f"/console/tickets/{ticket.id}/personal-data/erase", data={"csrf_token": token, "confirm": "wrong"}
    )
    assert refused.status_code == 400 and "请在确认框中输入工单编号" in refused.text
    assert console.store.transcript(ticket.id)  # nothing erased

    erased = client.post(
        f"/console/tickets/{ticket.id}/personal-data/erase", data={"csrf_token": token, "confirm": ticket.number}
    )
    assert erased.status_code == 303
    after = client.get(erased.headers["location"]).text
    assert "已删除或匿名化" in after and "张三" not in after and "13812345678" not in after
    assert console.store.transcript(ticket.id) == [] and console.store.contacts(ticket.id) == []
    assert console.store.get(ticket.id).summary_redacted == "[已匿名]"
    assert console.store.transcript(other.id)  # someone else's ticket is untouched
    entries = {e.action: e for e in console.store.staff_audit_log() if e.ticket_id == ticket.id}
    assert entries["personal_data_exported"].staff_user == staff.admin
    erased_entry = entries["personal_data_erased"]
    assert erased_entry.details["tickets"] == [ticket.number] and erased_entry.details["counts"]["ticket_contacts"] == 1
    assert "13812345678" not in str(erased_entry.details) and "张三" not in str(erased_entry.details)
