"""Rasa custom actions of Front Door (rasa-sdk, app environment).

Thin by design: one module per concern, calling into `bot/`. Nothing heavy is loaded at import
time (rasa-sdk's Sanic worker imports this package again; see docs on stack notes): the triage
engine is loaded on first use.
"""
