"""The switchboard between every channel and Rasa: persist, dedupe, order, safety screen, handoff, fallbacks,
the outbound queue (retries, restarts) and the answers to messages a crashed process left unanswered."""
