"""GET /metrics: off without a token, the token's bearers only, Prometheus's text format, the
security headers of every response, and counters that follow what the node does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import make_world
from tests.support import World

from parley.metrics import Metrics

TOKEN = "m" * 40
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    return samples.get((metric, frozenset(labels.items())), 0.0)


def total(samples: Samples, metric: str, /, **labels: str) -> float:
    """The sum over every sample of ``metric`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == metric and wanted <= ls)


async def scrape(world: World) -> Samples:
    async with world.node.http() as http:
        r = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    return parse(r.text)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world("sqlite", tmp_path, metrics_token=TOKEN):
        await w.add_workgroup("sales")
        yield w


@pytest.fixture
async def chat_node(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(backend, tmp_path, metrics_token=TOKEN):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300, max_chats=2)
        yield w


def assert_security_headers(r: httpx.Response) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert r.headers["cache-control"] == "no-store"
    assert len(r.headers["x-request-id"]) == 16


async def test_off_without_a_token(tmp_path: Path) -> None:
    async for w in make_world("sqlite", tmp_path):
        async with w.node.http() as http:
            r = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_only_the_tokens_bearer_reads_them(node: World) -> None:
    async with node.node.http() as http:
        for headers in (
            {},
            {"Authorization": "Bearer " + "x" * 40},
            {"Authorization": "Bearer " + TOKEN[:-1]},
            {"Authorization": "Basic " + TOKEN},
            {"Authorization": TOKEN},
        ):
            r = await http.get("/metrics", headers=headers)
            assert r.status_code == 401, headers
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert r.json()["error"]["code"] == "unauthenticated"
            assert_security_headers(r)
            assert "parley_" not in r.text
        r = await http.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert_security_headers(r)
    samples = parse(r.text)  # the whole body is valid Prometheus text
    assert value(samples, "parley_info", version="0.1.0", node=node.parley.node_id) == 1
    assert value(samples, "parley_connections", kind="visitor") == 0
    assert ("process_resident_memory_bytes", frozenset()) in samples
    # Not in the API reference: it is not part of the API.
    async with node.node.http() as http:
        assert "/metrics" not in (await http.get("/openapi.json")).json()["paths"]


async def test_counters_follow_a_chat(chat_node: World) -> None:
    world = chat_node
    await world.add_staff("alice", workgroups=["sales"])
    before = await scrape(world)
    chat = await world.open_chat()
    cid = chat["conversation"]["id"]
    waiting = await scrape(world)
    assert total(waiting, "parley_queue_waiting", workgroup="sales") == 1

    async with world.agent("alice") as alice, world.visitor(chat["visitor_token"]) as zoe:
        offer = (await alice.expect_type("offer"))["offer"]
        assert (await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
            "type"
        ] == "ok"
        await zoe.expect_type("queue", status="accepted")
        for i in range(3):
            await zoe.request(
                {"type": "send", "conversation_id": cid, "client_id": f"z{i}", "text": "hi"}
            )
            await alice.expect(
                lambda m, i=i: m.get("type") == "entry" and m["entry"]["client_id"] == f"z{i}"
            )
        # The same client id again: answered with the original, nothing committed.
        await zoe.request({"type": "send", "conversation_id": cid, "client_id": "z0", "text": "hi"})
        during = await scrape(world)

    def moved(metric: str, /, **labels: str) -> float:
        return value(during, metric, **labels) - value(before, metric, **labels)

    assert moved("parley_messages_committed_total") == 3
    assert moved("parley_commit_batch_size_count") == 3
    assert moved("parley_commit_batch_size_sum") == 3
    assert moved("parley_commit_seconds_count") == 3
    # Each message reached both connections (the sender follows its conversation too).
    assert moved("parley_delivery_seconds_count") >= 6
    assert value(during, "parley_connections", kind="staff") == 1
    assert value(during, "parley_connections", kind="visitor") == 1
    assert moved("parley_connections_opened_total", kind="visitor") == 1
    assert moved("parley_dispatch_decisions_total", outcome="offer") >= 1
    assert moved("parley_dispatch_decisions_total", outcome="run") >= 1
    assert total(during, "parley_queue_waiting", workgroup="sales") == 0

    async with world.node.http() as http:
        body = "x" * (world.parley.settings.max_body_bytes + 1)
        r = await http.post("/api/v1/workgroups/sales/chats", content=body)
    assert r.status_code == 413
    after = await scrape(world)
    assert value(after, "parley_limit_hits_total", name="body_too_large") == 1


async def test_limit_hits_are_counted_by_name(node: World) -> None:
    node.parley.limiter.refused("login_ip")
    async with node.node.http() as http:
        for _ in range(node.parley.rules.chat_ip.amount + 1):
            await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe"})
    samples = await scrape(node)
    assert value(samples, "parley_limit_hits_total", name="login_ip") == 1
    assert value(samples, "parley_limit_hits_total", name="chat_ip") == 1


def test_two_nodes_in_one_process_count_apart() -> None:
    one, two = Metrics(), Metrics()
    one.messages_committed(5)
    one.connection_opened("staff")
    assert value(parse(one.render().decode()), "parley_messages_committed_total") == 5
    assert value(parse(two.render().decode()), "parley_messages_committed_total") == 0
    assert value(parse(two.render().decode()), "parley_connections", kind="staff") == 0


def test_histograms_count_a_value_in_the_first_bucket_not_below_it() -> None:
    metrics = Metrics()
    for seconds in (0.00025, 0.0003, 0.001, 99.0):
        metrics.batch_committed(2, seconds)
    samples = parse(metrics.render().decode())

    def bucket(le: str) -> float:
        return value(samples, "parley_commit_seconds_bucket", le=le)

    assert bucket("0.00025") == 1  # le is inclusive
    assert bucket("0.0005") == 2
    assert bucket("0.001") == 3
    assert bucket("2.5") == 3
    assert bucket("+Inf") == 4 == value(samples, "parley_commit_seconds_count")
    assert value(samples, "parley_commit_seconds_sum") == pytest.approx(99.00155)
    assert value(samples, "parley_commit_batch_size_bucket", le="2.0") == 4
    assert value(samples, "parley_commit_batch_size_bucket", le="1.0") == 0
