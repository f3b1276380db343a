"""Build tools: run from the checkout by `make` targets, never imported by the running front door."""
