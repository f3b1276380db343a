"""`make cluster`: PostgreSQL, Redis, HAProxy, N app instances and M Rasa replicas on loopback (issue 20)."""
