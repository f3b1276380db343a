"""Front Door: the application package (triage, tickets, gateway, channels, staff console).

Kept import-light on purpose: `bot.nlu` runs inside the Rasa server's own Python 3.10
environment, which has none of the app's heavy dependencies.
"""
