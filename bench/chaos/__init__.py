"""Chaos and soak campaign: the daemon under load while servers, links and itself fail.

Run `python -m bench.chaos --short` (about 2 minutes, every fault once) or
`python -m bench.chaos --minutes 30`; docs/RELIABILITY.md explains what it checks.
"""
