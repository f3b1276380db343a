"""What keeps the front door usable and safe when it is open to the public (issue 18): limits and client
addresses, what binds where, request bodies, payloads, files on disk."""
