"""Per-connection limits: token buckets and the send gate that keeps refused messages in order."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tests.fakes import T0

from parley.domain.limits import SendGate, TokenBucket, whole_seconds


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_bucket_allows_a_burst_then_its_rate() -> None:
    bucket = TokenBucket.full(3, 6, T0)  # 3 per 6 s: a burst of 3, then one every 2 s
    for _ in range(3):
        bucket, wait = bucket.take(T0)
        assert wait == 0
    bucket, wait = bucket.take(T0)
    assert wait == pytest.approx(2)
    bucket, wait = bucket.take(at(1))
    assert wait == pytest.approx(1)
    bucket, wait = bucket.take(at(2))
    assert wait == 0
    # Never more than its capacity, however long it rests.
    bucket = bucket.refilled(at(3600))
    assert bucket.tokens == 3


def test_whole_seconds_round_up_and_are_at_least_one() -> None:
    assert [whole_seconds(w) for w in (0.01, 1, 1.2, 4.999)] == [1, 1, 2, 5]


def test_a_refusal_closes_the_gate_until_the_retry_is_due() -> None:
    gate = SendGate(TokenBucket.full(1, 10, T0))
    gate, wait = gate.admit(T0)
    assert wait == 0
    gate, wait = gate.admit(T0)
    assert wait == 10
    # The bucket would hold half a message at 5 s, and a whole one at 10 s; the gate stays
    # shut until then for every message, so none overtakes the refused one.
    gate, wait = gate.admit(at(5))
    assert wait == 5
    gate, wait = gate.admit(at(10))
    assert wait == 0
    gate, wait = gate.admit(at(10))
    assert wait == 10


def test_a_bucket_needs_a_capacity_and_a_period() -> None:
    with pytest.raises(ValueError, match="a bucket needs"):
        TokenBucket.full(0, 10, T0)
    with pytest.raises(ValueError, match="a bucket needs"):
        TokenBucket.full(1, 0, T0)
