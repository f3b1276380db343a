"""Rasa custom actions of Front Door (rasa-sdk, app environment).

Thin by design: one module per concern, calling into `bot/`. Nothing heavy is loaded at import
time (rasa-sdk's Sanic worker imports this package again; see docs on stack notes). The actions
never decide: they act on the gateway's triage decision, which rides in the message metadata, so
the action server loads no model. When the launcher sets FRONTDOOR_WARM_UP=1, the worker opens the
ticket store in the background at start (actions/warm_up.py); otherwise on first use.
"""

from actions.warm_up import start_in_worker

start_in_worker()
