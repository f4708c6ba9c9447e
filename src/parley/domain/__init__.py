"""Parley's pure core.

Everything in this package is plain Python: no I/O, no asyncio, no database, no web framework.
Functions take the current time (``now``) as an argument and return new state plus the events
that describe what changed. The services layer loads state, calls these functions, commits the
result and only then publishes the events. ``tests/domain/test_domain_purity.py`` fails if a
module here imports anything that does I/O.

Where the policy lives:

- ``conversation``: conversations, participants in roles, and their gapless event log.
- ``routing``: the queue of chat requests of a workgroup, agent selection and the offer state
  machine with its offer and wait timeouts.
- ``presence``: agent presence with the disconnect grace period.
- ``access``: who may do what; every permission check goes through it.
- ``errors``: the typed errors every layer maps to its own wire format.
"""
