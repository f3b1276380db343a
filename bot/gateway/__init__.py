"""The switchboard between every channel and Rasa: persist, dedupe, order, safety screen, handoff, fallbacks."""
