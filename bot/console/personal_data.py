"""Access and erasure on request, from the ticket page (admins only, CSRF-checked, audited).

A person asks staff in the chat, or by the ticket number, to see or delete what was kept about
them; an admin downloads the export (a JSON file) or erases it everywhere (bot/retention/person.py).
Erasing asks the admin to type the ticket number, so a slip of the mouse erases nothing.
"""

from __future__ import annotations

import json

from starlette.responses import Response

from bot.console.tickets import load_ticket, render_ticket
from bot.console.web import Ctx, page
from bot.retention import person


@page("personal_data")
def export(ctx: Ctx) -> Response:
    """POST: everything held about the ticket's person, as a JSON download; audited."""
    ticket = load_ticket(ctx)
    engine = ctx.state.engine
    subject = person.find(engine, ticket=ticket.number)
    held = person.export(engine, subject, ctx.state.settings)
    person.record_export(engine, ctx.member.username, subject, held)
    body = json.dumps(held, ensure_ascii=False, indent=2, default=str)
    headers = {
        "Content-Disposition": f'attachment; filename="{ticket.number}-personal-data.json"',
        "Cache-Control": "no-store",
    }
    return Response(body, media_type="application/json; charset=utf-8", headers=headers)


@page("personal_data")
def erase(ctx: Ctx) -> Response:
    """POST: erase the ticket's person everywhere (the ticket stays, anonymised); audited."""
    ticket = load_ticket(ctx)
    if ctx.field("confirm").strip() != ticket.number:
        return render_ticket(ctx, ticket, error=f"请在确认框中输入工单编号 {ticket.number}，再删除。", status=400)
    engine = ctx.state.engine
    person.erase(engine, person.find(engine, ticket=ticket.number), ctx.state.settings, actor=ctx.member.username)
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok="erased")
