"""Staff accounts (admins only) and the audit log page."""

from __future__ import annotations

from collections.abc import Callable

from console_support import PASSWORD, Staff, first_login, login
from starlette.testclient import TestClient

from bot.console.state import ConsoleState
from bot.tickets.models import Ticket


def test_admin_creates_an_account_that_can_log_in(client: TestClient, staff: Staff, console: ConsoleState) -> None:
    token = login(client, staff.admin)
    response = client.post(
        "/console/staff",
        data={
            "csrf_token": token,
            "username": "Sun.New",
            "display_name": "孙新",
            "role": "agent",
            "desks": ["12355"],
            "password": "a-good-first-password",
        },
    )
    assert response.status_code == 303
    created = console.accounts.get("sun.new")
    assert created is not None and created.desks == ("12355",) and created.role == "agent"
    page = client.get("/console/staff").text
    assert "sun.new" in page and "a-good-first-password" not in page
    first_login(client, "sun.new", "a-good-first-password", "only-sun-knows-this")
    actions = [e.action for e in console.store.staff_audit_log()]
    assert "staff_created" in actions and "password_changed" in actions
    login(client, "sun.new", "only-sun-knows-this")  # from now on a plain login


def test_account_rules_are_enforced(client: TestClient, staff: Staff) -> None:
    token = login(client, staff.admin)
    base = {"csrf_token": token, "role": "agent", "desks": ["12345"], "password": "long-enough-pw"}
    assert client.post("/console/staff", data={**base, "username": "x"}).status_code == 400  # too short a name
    assert client.post("/console/staff", data={**base, "username": "ok.name", "password": "short"}).status_code == 400
    assert client.post("/console/staff", data={**base, "username": "ok.name2", "desks": []}).status_code == 400
    assert client.post("/console/staff", data={**base, "username": staff.agent}).status_code == 400  # exists
    assert client.post("/console/staff", data={**base, "username": "ok.name3", "role": "god"}).status_code == 400


def test_changing_role_and_desks_and_disabling(client: TestClient, staff: Staff, console: ConsoleState) -> None:
    token = login(client, staff.admin)
    url = f"/console/staff/{staff.agent}/update"
    data = {"csrf_token": token, "role": "supervisor", "desks": ["12345", "12355"], "active": "1"}
    assert client.post(url, data=data).status_code == 303
    member = console.accounts.get(staff.agent)
    assert member is not None and member.role == "supervisor" and member.desks == ("12345", "12355")
    assert client.post(url, data={**data, "active": ""}).status_code == 303
    member = console.accounts.get(staff.agent)
    assert member is not None and not member.active
    assert client.post("/console/staff/nobody/update", data=data).status_code == 404


def test_the_last_admin_cannot_demote_or_disable_themselves(client: TestClient, staff: Staff) -> None:
    token = login(client, staff.admin)
    url = f"/console/staff/{staff.admin}/update"
    data = {"csrf_token": token, "role": "agent", "desks": ["12345"], "active": "1"}
    assert client.post(url, data=data).status_code == 409
    assert client.post(url, data={**data, "role": "admin", "active": ""}).status_code == 409


def test_password_reset_ends_the_accounts_sessions(client: TestClient, staff: Staff, app: object) -> None:
    with TestClient(app, follow_redirects=False) as agent_client:  # type: ignore[arg-type]
        login(agent_client, staff.agent)
        token = login(client, staff.admin)
        response = client.post(
            f"/console/staff/{staff.agent}/password", data={"csrf_token": token, "password": "brand-new-password"}
        )
        assert response.status_code == 303
        assert agent_client.get("/console/").status_code == 303  # the old session is gone
        first_login(agent_client, staff.agent, "brand-new-password", "agent-chose-this-one")
        page = agent_client.get("/console/login")
        assert page.status_code == 200
    assert (
        client.post(
            f"/console/staff/{staff.agent}/password", data={"csrf_token": token, "password": PASSWORD[:5]}
        ).status_code
        == 400
    )


def test_audit_page_lists_views_and_reveals_with_reasons(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket]
) -> None:
    ticket = new_ticket()
    token = login(client, staff.agent)
    client.get(f"/console/tickets/{ticket.id}")
    client.post(f"/console/tickets/{ticket.id}/transcript/reveal", data={"csrf_token": token, "reason": "核实地址信息"})
    login(client, staff.admin)
    page = client.get(f"/console/audit?ticket={ticket.id}").text
    assert "transcript_viewed" in page and "transcript_revealed" in page and "核实地址信息" in page
    assert staff.agent in page
    assert client.get("/console/audit?ticket=abc").status_code == 200
