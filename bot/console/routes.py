"""Every URL of the staff console, under /console (the app adds `Mount("/console", routes=routes)`)."""

from __future__ import annotations

from pathlib import Path

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.console import (
    account,
    analytics,
    auth,
    catalogue_editor,
    hot_topics,
    lessons,
    personal_data,
    queue,
    staff,
    tickets,
)
from bot.console.web import HstsMiddleware

STATIC = Path(__file__).resolve().parent / "static"
POST = ["POST"]
T = "/tickets/{ticket_id:int}"
C = "/catalogue/{desk}/{kind}"

routes: list[BaseRoute] = [
    Route("/", queue.queue, name="console-queue"),
    Route("/queue", queue.queue),
    Route("/login", auth.login, methods=["GET", "POST"]),
    Route("/login/mfa", auth.mfa_step, methods=["GET", "POST"]),
    Route("/logout", auth.logout, methods=POST),
    Route("/account", account.overview),
    Route("/account/password", account.change_password, methods=["GET", "POST"]),
    Route("/account/mfa", account.enrol, methods=["GET", "POST"]),
    Route("/account/mfa/recovery-codes", account.new_recovery_codes, methods=POST),
    Route(T, tickets.ticket_page),
    Route(T + "/claim", tickets.claim, methods=POST),
    Route(T + "/assign", tickets.assign, methods=POST),
    Route(T + "/status", tickets.change_status, methods=POST),
    Route(T + "/category", tickets.change_category, methods=POST),
    Route(T + "/safety-feedback", tickets.safety_feedback, methods=POST),
    Route(T + "/note", tickets.add_note, methods=POST),
    Route(T + "/reply", tickets.reply, methods=POST),
    Route(T + "/handoff", tickets.handoff, methods=POST),
    Route(T + "/transcript/reveal", tickets.reveal_transcript, methods=POST),
    Route(T + "/contacts/{contact_id:int}/reveal", tickets.reveal_contact, methods=POST),
    Route(T + "/follow-ups/{follow_up_id:int}/outcome", tickets.follow_up_outcome, methods=POST),
    Route(T + "/personal-data/export", personal_data.export, methods=POST),
    Route(T + "/personal-data/erase", personal_data.erase, methods=POST),
    Route("/analytics", analytics.analytics),
    Route("/topics", hot_topics.topics),
    Route("/catalogue", catalogue_editor.index),
    Route("/catalogue/corrections", lessons.index),
    Route("/catalogue/corrections/{event_id:int}/teach", lessons.teach, methods=POST),
    Route("/catalogue/corrections/{event_id:int}/dismiss", lessons.dismiss, methods=POST),
    Route(C, catalogue_editor.edit),
    Route(C, catalogue_editor.save, methods=POST),
    Route(C + "/versions/{version:int}", catalogue_editor.show_version),
    Route(C + "/versions/{version:int}/restore", catalogue_editor.restore, methods=POST),
    Route("/staff", staff.staff_list),
    Route("/staff", staff.create, methods=POST),
    Route("/staff/{username}/update", staff.update, methods=POST),
    Route("/staff/{username}/password", staff.reset_password, methods=POST),
    Route("/staff/{username}/mfa-reset", staff.reset_mfa, methods=POST),
    Route("/audit", staff.audit),
    Mount("/static", StaticFiles(directory=STATIC), name="console-static"),
]

mount = Mount("/console", routes=routes, middleware=[Middleware(HstsMiddleware)])
