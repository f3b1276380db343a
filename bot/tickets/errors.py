"""The refusals of the ticket store.

They live apart from the store so that callers (the console, the follow-up answers, the actions)
can catch them without importing the store and its database machinery; every one derives from
`TicketError`, so a caller that does not care which rule was broken catches that one.
"""

from __future__ import annotations


class TicketError(Exception):
    """Base class of the store's refusals (callers may catch this one)."""


class TicketNotFound(TicketError, LookupError):
    pass


class InvalidTransition(TicketError):
    pass


class IdempotencyConflict(TicketError):
    """The idempotency key was already used by another conversation: a caller bug, never a lookup."""


class RatingError(TicketError, ValueError):
    pass


class ConsentRequired(TicketError):
    pass


class FollowUpError(TicketError):
    pass
