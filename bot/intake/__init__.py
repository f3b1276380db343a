"""Intake of a request into the ticket store: what the ticket form asks, how a ticket is opened.

Pure Python on top of `bot.tickets` and the desk catalogue; the Rasa actions in `actions/` stay
thin and call in here. Nothing heavy is imported at module level.
"""
