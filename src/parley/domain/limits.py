"""Limits that live with one connection: token buckets, driven by the ``now`` they are given.

A bucket holds at most ``capacity`` tokens and gains ``capacity / period`` tokens a second; each
message takes one. So "30 per 15 seconds" allows a burst of 30, then 2 a second on average.
Limits shared by every node (logins, chats, left messages) are counted elsewhere, in the limits
storage (``parley.services.limits``); these are per connection, so they stay in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class TokenBucket:
    capacity: int
    period_secs: float
    tokens: float
    at: datetime

    @classmethod
    def full(cls, capacity: int, period_secs: float, now: datetime) -> TokenBucket:
        if capacity < 1 or period_secs <= 0:
            raise ValueError("a bucket needs a capacity of at least 1 and a positive period")
        return cls(capacity, period_secs, float(capacity), now)

    @property
    def rate(self) -> float:
        """Tokens gained per second."""
        return self.capacity / self.period_secs

    def refilled(self, now: datetime) -> TokenBucket:
        elapsed = max(0.0, (now - self.at).total_seconds())
        return replace(self, tokens=min(self.capacity, self.tokens + elapsed * self.rate), at=now)

    def take(self, now: datetime) -> tuple[TokenBucket, float]:
        """Take one token. Returns the new bucket and 0, or, when empty, the bucket unchanged
        (but refilled to ``now``) and the seconds until a token is there."""
        bucket = self.refilled(now)
        if bucket.tokens >= 1:
            return replace(bucket, tokens=bucket.tokens - 1), 0.0
        return bucket, (1 - bucket.tokens) / bucket.rate


def whole_seconds(wait: float) -> int:
    """A wait as the whole seconds a client is told (``Retry-After``, ``retry_after``): rounded
    up, at least 1, so that a client waiting that long is never early."""
    return max(1, math.ceil(wait - 1e-9))


@dataclass(frozen=True, slots=True)
class SendGate:
    """A connection's limit on messages, keeping their order.

    Once a message is refused, every message until ``open_at`` is refused too, whatever the
    bucket holds by then: a client that sent several messages in a row gets all of the later
    ones back and sends them again, in order, after the wait. So a refusal never lets a later
    message be stored before an earlier one.
    """

    bucket: TokenBucket
    open_at: datetime | None = None

    def admit(self, now: datetime) -> tuple[SendGate, int]:
        """``(gate, 0)`` when the message may go ahead; else the gate and the whole seconds to
        wait before sending it again."""
        if self.open_at is not None and now < self.open_at:
            return self, whole_seconds((self.open_at - now).total_seconds())
        bucket, wait = self.bucket.take(now)
        if wait <= 0:
            return SendGate(bucket), 0
        # Told in whole seconds: closed until the client's retry is due, not a moment less.
        seconds = whole_seconds(wait)
        return SendGate(bucket, now + timedelta(seconds=seconds)), seconds
