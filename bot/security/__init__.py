"""What keeps the front door usable when it is open to the public (limits, client addresses)."""
