"""Hardening that sits around the app rather than inside one feature: what binds where, request
bodies, files on disk (issue 18)."""
