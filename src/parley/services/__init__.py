"""Use cases. Each loads through the store, calls the pure domain, commits, then publishes.

Notifications are published only after the transaction has committed, so nobody is ever told
about something the database does not hold.
"""
