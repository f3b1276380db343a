"""Fresh conversation rounds through the real front door, scored against their writers' expectations.

    .venv-app/bin/python -m benchmarks.conversations <round.yml>... [--record] [--json out.json] [--only ID]
    make conversations ROUNDS="benchmarks/conversations/round-1.yml ..."

Each round file (format: benchmarks/conversations/FORMAT.md) is written by an independent writer who
saw only that spec. This starts one front door (Rasa server, action server, app) on free loopback
ports with a throw-away database, and plays every conversation over the public REST channel
(`POST /api/chat/{desk}`), one fresh sender per conversation, one message at a time:

* `say` turns are sent in order; an `if_asked: X` turn only when the bot's latest reply asks for
  detail X. What the bot asks is read from Rasa's tracker (`GET /conversations/<desk>:rest:local:<sender>/tracker`
  with the stack's token): the form's `requested_slot` while a loop is active, or an ask action of
  the latest turn, mapped to a detail by `conversation_scoring.SLOT_KEYS`;
* a question the script has no answer for gets the answer FORMAT.md gives (don't know, confirm,
  decline contact, yes to recording a sensitive matter, rather not say the age...), at most eight per conversation; the choice is `ScriptCursor`'s (documented there);
* at the end it reads what the stack recorded: the conversation's ticket records (filed cases =
  route ticket or crisis), the gateway's check-in lines (gw_outbound source "check-in"), its crisis
  handoff and safety decisions, and the tracker (each message's decision, a cancelled form).

`conversation_scoring.score` then checks every expectation (ticket, ticket_count, details,
first_route, channel, mentions, crisis, check_in, cancelled, language, answers not taken) and the
report gives per round the share of conversations as expected and the figures the rounds are
compared on. `--record` appends the report to benchmarks/fresh_conversations.md (each round is scored
there once, before anything is learned from it); `--json` writes every transcript for debugging.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text

from benchmarks.conversation_scoring import (
    Exchange,
    FiledTicket,
    Observed,
    Result,
    RoundFigures,
    Script,
    ScriptCursor,
    asked_key,
    load_round,
    render,
    round_figures,
    score,
)
from benchmarks.throwaway import throwaway_stack
from bot.gateway import check_in, matters
from bot.settings import REPO_ROOT

RECORD_FILE = REPO_ROOT / "benchmarks" / "fresh_conversations.md"
RECORD_HEADER = """# Fresh conversation rounds

How the front door does on conversations nobody tuned it for. Protocol: each round is written by an
independent writer briefed only with the spec (benchmarks/conversations/FORMAT.md), who never saw
the bot's data; it is scored ONCE, before anything is learned from it, with
`make conversations ROUNDS=round-N.yml RECORD=1` (`python -m benchmarks.conversations round-N.yml
--record`), then kept in benchmarks/conversations/round-N.yml. Only the first section of a round is
its fresh score: later runs of it measure a change made since. Each section gives the commit
scored, the command and the wall time.
"""
MAX_SENDS_EXTRA = 4
"""Messages a conversation may send beyond its turns and unscripted answers (a guard, never reached)."""


@dataclass(frozen=True)
class Target:
    """A running front door: where to talk to it and where it keeps its records."""

    app_url: str
    rasa_url: str
    rasa_token: str
    database_url: str
    api_key: str = ""
    """The integration key the runner sends (the throw-away stack's local key)."""
    key_name: str = "local"
    """That key's name: its people are "<desk>:rest:<key name>:<sender>" (bot/channels/identity.py)."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @cached_property
    def database(self) -> Engine:
        """One engine for the whole run (its records are read after every message)."""
        return create_engine(self.database_url)


# --- one conversation -----------------------------------------------------------------------------
def _tracker(client: httpx.Client, target: Target, conversation_id: str) -> dict[str, Any] | None:
    response = client.get(
        f"{target.rasa_url}/conversations/{conversation_id}/tracker",  # the id as is: Rasa does not unquote %3A
        params={"token": target.rasa_token},
    )
    response.raise_for_status()
    payload = response.json()
    return payload if isinstance(payload, dict) else None


def _user_events(tracker: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [e for e in (tracker or {}).get("events") or [] if e.get("event") == "user"]


def _decision_route(event: dict[str, Any]) -> str | None:
    decision = (event.get("metadata") or {}).get("decision")
    return str(decision["route"]) if isinstance(decision, dict) and decision.get("route") else None


GATEWAY_QUESTIONS = {matters.SOURCE_CHOICE: "which", matters.SOURCE_OFFER: "other_matter"}
"""Questions the gateway asks itself (gw_outbound.source) -> the FORMAT.md detail key."""


def _gateway_turn(target: Target, conversation_id: str) -> tuple[str | None, str | None]:
    """(the detail the gateway itself asked for in the last turn, the route it decided for the last
    message) from its tables: the matters questions never reach Rasa's tracker."""
    with target.database.connect() as connection:
        last = connection.execute(
            text("SELECT id, safety FROM gw_inbound WHERE conversation_id = :cid ORDER BY id DESC LIMIT 1"),
            {"cid": conversation_id},
        ).first()
        if last is None:
            return None, None
        sources = connection.execute(
            text("SELECT source FROM gw_outbound WHERE inbound_id = :iid ORDER BY id"), {"iid": last[0]}
        ).scalars()
        asked = next((GATEWAY_QUESTIONS[s] for s in sources if s in GATEWAY_QUESTIONS), None)
    safety = json.loads(last[1]) if isinstance(last[1], str) else last[1]
    decided = safety.get("decided") if isinstance(safety, dict) else None
    return asked, str(decided) if decided else None


def _records(target: Target, conversation_id: str) -> dict[str, Any]:
    """What the stack's database holds about one conversation."""
    with target.database.connect() as connection:
        tickets = connection.execute(
            text(
                "SELECT id, number, route, summary_redacted, triage_signals FROM tickets "
                "WHERE conversation_id = :cid ORDER BY id"
            ),
            {"cid": conversation_id},
        ).all()
        said = connection.execute(  # the person's own lines in the ticket's transcript: staff read them too
            text(
                "SELECT m.ticket_id, m.text FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id "
                "WHERE t.conversation_id = :cid AND m.sender = 'person' ORDER BY m.ticket_id, m.seq"
            ),
            {"cid": conversation_id},
        ).all()
        contacts = connection.execute(  # kept apart from the ticket (with consent): the phone detail
            text(
                "SELECT c.ticket_id, c.value FROM ticket_contacts c JOIN tickets t ON t.id = c.ticket_id "
                "WHERE t.conversation_id = :cid ORDER BY c.id"
            ),
            {"cid": conversation_id},
        ).all()
        check_ins = connection.execute(
            text("SELECT COUNT(*) FROM gw_outbound WHERE conversation_id = :cid AND source = :source"),
            {"cid": conversation_id, "source": check_in.SOURCE},
        ).scalar_one()
        safety = connection.execute(
            text("SELECT safety FROM gw_inbound WHERE conversation_id = :cid ORDER BY id"), {"cid": conversation_id}
        ).all()
        handoff = connection.execute(
            text("SELECT handoff_reason FROM gw_conversations WHERE id = :cid"), {"cid": conversation_id}
        ).scalar_one_or_none()

    def loaded(value: Any) -> dict[str, Any]:
        value = json.loads(value) if isinstance(value, str) else value
        return value if isinstance(value, dict) else {}

    def with_contact(ticket_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        phones = [str(value) for owner, value in contacts if owner == ticket_id]
        return {**fields, "phone": " ".join(phones)} if phones else fields

    def with_transcript(ticket_id: int, summary: str) -> str:
        lines = [str(value) for owner, value in said if owner == ticket_id]
        return "\n".join([summary, *lines])

    return {
        "tickets": [
            FiledTicket(str(n), str(r), with_transcript(i, str(s or "")), with_contact(i, loaded(f)))
            for i, n, r, s, f in tickets
        ],
        "check_ins": int(check_ins),
        "safety_routes": [loaded(row[0]).get("route") for row in safety],
        "crisis_handoff": handoff == "crisis",
    }


def run_conversation(client: httpx.Client, target: Target, script: Script) -> Observed:
    """Play one script through the stack and collect what happened (never raises: errors are recorded)."""
    sender = f"fresh-{script.id}-{uuid.uuid4().hex[:8]}"
    conversation_id = f"{script.desk}:rest:{target.key_name}:{sender}"
    observed = Observed(conversation_id=conversation_id)
    cursor = ScriptCursor(script)
    started = time.monotonic()
    asked: str | None = None
    slot: str | None = None
    tracker: dict[str, Any] | None = None
    try:
        for _ in range(len(script.turns) + cursor.max_unscripted + MAX_SENDS_EXTRA):
            message = cursor.next_message(asked, slot)
            if message is None:
                break
            users_before = len(_user_events(tracker))
            sent_at = time.monotonic()
            response = client.post(
                f"{target.app_url}/api/chat/{script.desk}",
                json={"sender": sender, "text": message.text, "message_id": uuid.uuid4().hex},
                headers=target.headers,
            )
            response.raise_for_status()
            replies = [str(r.get("text") or "") for r in response.json().get("replies") or []]
            seconds = time.monotonic() - sent_at
            tracker = _tracker(client, target, conversation_id)
            users = _user_events(tracker)
            route = _decision_route(users[-1]) if len(users) > users_before else None  # None: Rasa not called
            exchange = Exchange(message.text, message.kind, message.key, asked, replies, route=route)
            exchange.seconds = round(seconds, 2)
            asked, slot = asked_key(tracker)
            gateway_asked, decided = _gateway_turn(target, conversation_id)
            if gateway_asked is not None:  # the gateway's own question (several matters), not Rasa's
                asked, slot = gateway_asked, None
            if exchange.route is None:
                exchange.route = decided
            exchange.asked_after, exchange.slot_after = asked, slot
            observed.exchanges.append(exchange)
        updates = client.get(
            f"{target.app_url}/api/chat/{script.desk}/updates",
            params={"sender": sender, "channel": "rest"},
            headers=target.headers,
        )
        if updates.status_code == 200:
            observed.queued = [str(m.get("text") or "") for m in updates.json().get("messages") or []]
        observed.cancelled = form_was_cancelled((tracker or {}).get("events") or [])
        records = _records(target, conversation_id)
        observed.tickets = records["tickets"]
        observed.check_ins = records["check_ins"]
        observed.crisis_handoff = records["crisis_handoff"]
        safety_routes = records["safety_routes"]
        observed.decisions = [
            e.route or (safety_routes[i] if i < len(safety_routes) else None) for i, e in enumerate(observed.exchanges)
        ]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        observed.error = f"{type(exc).__name__}: {exc}"[:300]
    observed.skipped_turns = cursor.skipped
    observed.seconds = time.monotonic() - started
    return observed


def run_scripts(target: Target, scripts: Sequence[Script], progress: bool = True) -> list[Result]:
    """Every script in turn (one at a time: a conversation's timing is its own), scored."""
    results = []
    with httpx.Client(timeout=90) as client:
        for script in scripts:
            result = score(script, run_conversation(client, target, script))
            results.append(result)
            if progress:
                verdict = "pass" if result.passed else "FAIL"
                print(f"[conversations] {script.id} {verdict} {result.seconds:.1f}s", file=sys.stderr, flush=True)
    return results


# --- the stack -------------------------------------------------------------------------------------
@contextmanager
def started_stack() -> Iterator[Target]:
    """A front door on free loopback ports with a throw-away data folder and database; stopped after."""
    with throwaway_stack("frontdoor-conv-") as (stack, _):
        target = Target(
            app_url=f"http://127.0.0.1:{stack.app_port}",
            rasa_url=f"http://127.0.0.1:{stack.rasa_port}",
            rasa_token=stack.settings.rasa_token,
            database_url=stack.settings.database_url,
            api_key=stack.rest_key or "",
        )
        try:
            yield target
        finally:
            target.database.dispose()


# --- report, record --------------------------------------------------------------------------------
def form_was_cancelled(events: list[dict[str, Any]]) -> bool:
    """action_cancel_ticket_form ended the form: it runs for every message NLU calls a cancel, and
    keeps the form (a follow-up to it) when the words were an answer, not a giving-up."""
    for i, event in enumerate(events):
        if event.get("event") == "action" and event.get("name") == "action_cancel_ticket_form":
            for after in events[i + 1 :]:
                if after.get("event") == "active_loop":
                    if after.get("name") is None:
                        return True
                    break
                if after.get("event") in ("action", "followup", "user"):
                    break
    return False


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")


def record(figures: Sequence[RoundFigures], command: str, wall_seconds: float, path: Path = RECORD_FILE) -> None:
    """Append a dated section with the report to the record file (made with its header if missing)."""
    if not path.exists():
        path.write_text(RECORD_HEADER, encoding="utf-8")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = [
        "",
        f"## {now}: {', '.join(f.name for f in figures)}",
        "",
        f"- commit: {_commit()}",
        f"- command: `{command}`",
        f"- wall time: {wall_seconds:.0f} s",
        "",
        render(figures, markdown=True),
    ]
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(section))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conversations", description=__doc__.split("\n")[0])
    parser.add_argument("rounds", nargs="+", type=Path, help="round files (benchmarks/conversations/FORMAT.md)")
    parser.add_argument("--record", action="store_true", help=f"append the report to {RECORD_FILE.name}")
    parser.add_argument("--json", type=Path, help="write every conversation's result and transcript here")
    parser.add_argument("--only", action="append", default=[], metavar="ID", help="run only this conversation id")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rounds = [load_round(path) for path in args.rounds]
    if args.only:
        rounds = [(name, [s for s in scripts if s.id in args.only]) for name, scripts in rounds]
        rounds = [(name, scripts) for name, scripts in rounds if scripts]
        if not rounds:
            parser.error(f"no conversation with id {', '.join(args.only)}")
    total = sum(len(scripts) for _, scripts in rounds)
    print(f"[conversations] starting the stack for {total} conversations", file=sys.stderr, flush=True)
    results: list[Result] = []
    figures = []
    with started_stack() as target:
        for name, scripts in rounds:
            round_results = run_scripts(target, scripts)
            results += round_results
            figures.append(round_figures(name, scripts, round_results))
    wall = time.monotonic() - started
    print(render(figures))
    print(f"wall time: {wall:.0f} s")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], ensure_ascii=False, indent=1), encoding="utf-8")
    if args.record:
        command = " ".join([".venv-app/bin/python -m benchmarks.conversations", *(argv or sys.argv[1:])])
        record(figures, command, wall)
    return 0


if __name__ == "__main__":
    sys.exit(main())
