"""The handling rules of the ticket store as data: statuses, allowed transitions, start states, SLA.

These tables decide what the store lets staff do with a ticket, so they are kept in one place that
the store's parts and the console (which offers only allowed status changes) both read, instead of
being buried in the store's code. China time is here too: it decides the hotline's calendar day.
"""

from __future__ import annotations

from datetime import timedelta, timezone

from bot.tickets.models import Priority, Route, Status

# China has had no daylight saving time since 1991: a fixed offset needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
CRISIS_FIRST_RESPONSE_HOURS = 0.25
DEFAULT_FOLLOW_UP_HOURS = 24.0

NEW, IN_PROGRESS, WAITING = Status.NEW.value, Status.IN_PROGRESS.value, Status.WAITING_FOR_PERSON.value
RESOLVED, CLOSED = Status.RESOLVED.value, Status.CLOSED.value
DECLINED, REFERRED = Status.DECLINED.value, Status.REFERRED.value

OPEN_STATUSES = frozenset({NEW, IN_PROGRESS, WAITING})
HANDLED_ROUTES = frozenset({Route.TICKET.value, Route.CRISIS.value})

# Allowed status changes. Declined and referred matters are closed records from the start. A resolved
# or closed ticket may be reopened (back to in_progress) when the person says it is not solved; a
# closed one only if staff had resolved it (see `LifecycleBase._set_status`).
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({IN_PROGRESS, WAITING, RESOLVED, CLOSED, DECLINED, REFERRED}),
    IN_PROGRESS: frozenset({WAITING, RESOLVED, CLOSED, DECLINED, REFERRED}),
    WAITING: frozenset({IN_PROGRESS, RESOLVED, CLOSED}),
    RESOLVED: frozenset({CLOSED, IN_PROGRESS}),
    CLOSED: frozenset({IN_PROGRESS}),
    DECLINED: frozenset(),
    REFERRED: frozenset(),
}

# Status a record starts in, by route: only crisis and in-scope tickets wait for staff.
INITIAL_STATUS: dict[str, str] = {
    Route.TICKET.value: NEW,
    Route.CRISIS.value: NEW,
    Route.REFER.value: REFERRED,
    Route.EMERGENCY.value: REFERRED,
    Route.DECLINE.value: DECLINED,
    Route.FAQ.value: CLOSED,
}

# Order of the on-duty alert: most urgent first.
PRIORITY_ORDER = {Priority.URGENT.value: 0, Priority.HIGH.value: 1, Priority.NORMAL.value: 2}
