"""Channels: Telegram (python-telegram-bot), web chat, REST, terminal. Each hands messages to the gateway."""
