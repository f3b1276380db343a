"""Return visits (回访) and SLA alerts: "one matter, one reply", and nothing left to go cold.

`FollowUpScheduler` runs in the app process as a periodic task (`runtime.FollowUpService`). The
follow-ups themselves live in the ticket store's database (they survive restarts; they are not
Rasa reminders); the person's answers come back through Rasa as button payloads and
`answers` records them.
"""

from bot.followups.scheduler import FollowUpScheduler, RunReport, Unreachable

__all__ = ["FollowUpScheduler", "RunReport", "Unreachable"]
