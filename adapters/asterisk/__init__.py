"""Asterisk: a FastAGI server (the dialplan's questions) and an AMI client (events, cuts, limits, Originate).

Thin: every answer comes from `services`; see `agi`, `ami` and `events`.
The sample `extensions.conf` and `manager.conf` beside this file are what an
operator adds to Asterisk.
"""
