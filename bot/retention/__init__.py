"""Personal data lifecycle: the retention policy, the purge that applies it, and erasure and export
on request (PIPL Art. 47). `python -m bot.retention --help`; README "Personal data"."""
