"""State that several app instances must share: rate limits and staff-alert memory (issue 20).

Without FRONTDOOR_REDIS_URL everything stays in the process's memory (one app instance, `make
run`). With it, the limits and the alert memory live in Redis, so N instances behind a load
balancer count one person, one source and one desk together.

When Redis is down (bot/shared_state/guard.py) every instance falls back to its own memory, the
behaviour of a single process: limits are counted per instance (at most N times looser: answering
people fails open) and alert throttles per instance (at worst an extra alert, a crisis alert is
never dropped). Redis is tried again after a second; nothing is queued for it.
"""
