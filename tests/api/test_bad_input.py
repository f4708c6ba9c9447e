"""Bad input over the public API: every mistake gets a typed answer and changes nothing.

Ordinary mistakes on the WebSocket (bad JSON, unknown type, invalid fields, forbidden actions)
answer with an ``error`` and leave the socket open; protocol violations close it with the
documented code. The REST API answers ``{"error": {"code": ...}}`` with a fitting status.
Each test also checks, through the REST API, that the conversation's log did not change.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.fakes import FakeClock
from tests.support import RECV_TIMEOUT_SECS, World, WsClient, run_node, settings_for
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from parley.domain.access import StaffRole

MAX_CHARS = 4000
MAX_FRAME_BYTES = 65536
# How the WebSocket may refuse a value it will not handle.
WS_REFUSALS = {"forbidden", "not_found", "invalid_message", "invalid_input"}


# Helpers ------------------------------------------------------------------------------------------


async def rest_entries(world: World, cid: str, visitor_token: str) -> list[dict[str, Any]]:
    async with world.node.http(headers={"X-Visitor-Token": visitor_token}) as http:
        r = await http.get(f"/api/v1/conversations/{cid}/entries")
    assert r.status_code == 200, r.text
    return list(r.json())


async def still_open(ws: WsClient) -> None:
    """An ordinary mistake leaves the socket usable: a ping still gets its pong."""
    pong = await ws.request({"type": "ping"})
    assert pong["type"] == "pong"


async def answer_to(ws: WsClient, raw: str) -> dict[str, Any]:
    """Send a raw text frame; return the error it causes, checking the socket stays open."""
    await ws.ws.send(raw)
    error = await ws.expect_type("error")
    await still_open(ws)
    return error


@asynccontextmanager
async def raw_socket(world: World, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    async with connect(world.node.ws_url, open_timeout=RECV_TIMEOUT_SECS, **kwargs) as ws:
        yield ws


async def raw_hello(ws: ClientConnection, **fields: Any) -> list[dict[str, Any]]:
    """Say hello; return everything up to and including ``synced``."""
    await ws.send(json.dumps({"type": "hello", **fields}))
    got: list[dict[str, Any]] = []
    while not got or got[-1]["type"] != "synced":
        got.append(json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_SECS)))
    return got


async def until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int]:
    """Read until the server closes; return what it sent before, and its close code."""
    got: list[dict[str, Any]] = []
    closed: ConnectionClosed | None = None
    while closed is None:
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_SECS)))
        except ConnectionClosed as exc:
            closed = exc
    assert closed.rcvd is not None, "closed without a close frame"
    return got, closed.rcvd.code


def errors_in(messages: list[dict[str, Any]]) -> list[str]:
    return [m["code"] for m in messages if m["type"] == "error"]


def send_message(cid: str, client_id: str, text: str, ref: str | None = None) -> dict[str, Any]:
    message = {"type": "send", "conversation_id": cid, "client_id": client_id, "text": text}
    return message if ref is None else {**message, "ref": ref}


# WebSocket: ordinary mistakes ---------------------------------------------------------------------


async def test_ws_malformed_messages_get_typed_errors_and_the_socket_stays_open(
    world: World,
) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await rest_entries(world, cid, token)

    async with world.visitor(token) as zoe:
        # Not JSON at all: no ref can be read.
        error = await answer_to(zoe, '{"type": "send", "ref": "j1", "text": ')
        assert (error["code"], error["ref"]) == ("bad_json", None)
        error = await answer_to(zoe, "hello?")
        assert (error["code"], error["ref"]) == ("bad_json", None)

        # JSON, but no such type (or none): the ref is echoed.
        error = await answer_to(zoe, json.dumps({"type": "shout", "ref": "u1", "text": "hi"}))
        assert (error["code"], error["ref"]) == ("unknown_type", "u1")
        error = await answer_to(zoe, json.dumps({"ref": "u2", "text": "hi"}))
        assert (error["code"], error["ref"]) == ("unknown_type", "u2")

        # A known type with a missing field, a field of the wrong type, an unknown field.
        missing = {"type": "send", "ref": "m1", "conversation_id": cid, "client_id": "c1"}
        error = await answer_to(zoe, json.dumps(missing))
        assert (error["code"], error["ref"]) == ("invalid_message", "m1")
        assert "text" in error["message"]
        wrong = send_message(cid, "c1", "hi", ref="m2") | {"text": 42}
        error = await answer_to(zoe, json.dumps(wrong))
        assert (error["code"], error["ref"]) == ("invalid_message", "m2")
        wrong = send_message(cid, "c1", "hi", ref="m3") | {"client_id": ["c1"]}
        error = await answer_to(zoe, json.dumps(wrong))
        assert (error["code"], error["ref"]) == ("invalid_message", "m3")
        extra = send_message(cid, "c1", "hi", ref="m4") | {"priority": "high"}
        error = await answer_to(zoe, json.dumps(extra))
        assert (error["code"], error["ref"]) == ("invalid_message", "m4")
        # A ref that is not a string is not echoed (there is nothing valid to echo).
        error = await answer_to(zoe, json.dumps({"type": "ping", "ref": 7}))
        assert (error["code"], error["ref"]) == ("invalid_message", None)

        # A second hello is a mistake too, not a reset of the session.
        error = await answer_to(zoe, json.dumps({"type": "hello", "visitor_token": token}))
        assert error["code"] == "protocol_error"

        # The session still works for real messages.
        ack = await zoe.request(send_message(cid, "ok-1", "still here"))
        assert ack["type"] == "ack"
        assert ack["entry"]["seq"] == before[-1]["seq"] + 1

    after = await rest_entries(world, cid, token)
    assert after[: len(before)] == before
    assert [e["body"]["text"] for e in after[len(before) :]] == ["still here"]


async def test_ws_text_length_limits(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await rest_entries(world, cid, token)

    async with world.visitor(token) as zoe:
        assert zoe.received[0]["max_message_chars"] == MAX_CHARS

        too_long = await zoe.request(send_message(cid, "long", "x" * (MAX_CHARS + 1)))
        assert (too_long["type"], too_long["code"]) == ("error", "too_long")
        await still_open(zoe)
        for blank in ["", " ", " \t\n "]:
            error = await zoe.request(send_message(cid, f"blank{len(blank)}", blank))
            assert (error["type"], error["code"]) == ("error", "invalid_input"), blank
            await still_open(zoe)
        assert await rest_entries(world, cid, token) == before

        # Exactly at the limit is fine, and the refused client id was not used up.
        ack = await zoe.request(send_message(cid, "long", "y" * MAX_CHARS))
        assert ack["type"] == "ack"
        assert ack["entry"]["body"]["text"] == "y" * MAX_CHARS

    after = await rest_entries(world, cid, token)
    assert after[: len(before)] == before
    assert [(e["client_id"], len(e["body"]["text"])) for e in after[len(before) :]] == [
        ("long", MAX_CHARS)
    ]


# WebSocket: protocol violations close the socket --------------------------------------------------


async def test_ws_invalid_utf8_closes_with_1007(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await rest_entries(world, cid, token)
    async with raw_socket(world) as ws:
        await raw_hello(ws, visitor_token=token)
        # A text frame whose payload is not UTF-8 (the client library does not check it).
        await ws.send(b'{"type":"ping","ref":"\xff\xfe"}', text=True)
        _, code = await until_closed(ws)
    assert code == 1007
    assert await rest_entries(world, cid, token) == before


async def test_ws_binary_frame_closes_with_1003(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await rest_entries(world, cid, token)
    async with raw_socket(world) as ws:
        await raw_hello(ws, visitor_token=token)
        frame = json.dumps(send_message(cid, "bin", "binary", ref="b1")).encode()
        await ws.send(frame)
        got, code = await until_closed(ws)
    assert code == 1003
    assert errors_in(got) == ["protocol_error"]
    assert await rest_entries(world, cid, token) == before

    # Before hello, too.
    async with raw_socket(world) as ws:
        await ws.send(json.dumps({"type": "hello", "visitor_token": token}).encode())
        got, code = await until_closed(ws)
    assert code == 1003
    assert errors_in(got) == ["protocol_error"]


async def test_ws_frame_over_the_size_limit_closes_with_1009(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await rest_entries(world, cid, token)

    def frame_of(size: int, ref: str) -> str:
        empty = json.dumps(send_message(cid, ref, "", ref=ref))
        frame = json.dumps(send_message(cid, ref, "x" * (size - len(empty)), ref=ref))
        assert len(frame.encode()) == size
        return frame

    async with raw_socket(world) as ws:
        await raw_hello(ws, visitor_token=token)
        # A frame of exactly the limit is read (and its text refused as too long)...
        await ws.send(frame_of(MAX_FRAME_BYTES, "at-limit"))
        reply = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_SECS))
        while reply.get("ref") != "at-limit":
            reply = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_SECS))
        assert (reply["type"], reply["code"]) == ("error", "too_long")
        # ...one byte more closes the socket.
        await ws.send(frame_of(MAX_FRAME_BYTES + 1, "over"))
        got, code = await until_closed(ws)
    assert code == 1009
    assert not [m for m in got if m.get("ref") == "over"]
    assert await rest_entries(world, cid, token) == before


async def test_ws_first_message_must_be_hello(world: World) -> None:
    chat = await world.open_chat()
    for first in [
        json.dumps({"type": "ping", "ref": "p1"}),
        json.dumps(send_message(chat["conversation"]["id"], "c1", "hi")),
        "not json",
        json.dumps({"type": "hello", "visitor_token": chat["visitor_token"], "extra": 1}),
    ]:
        async with raw_socket(world) as ws:
            await ws.send(first)
            got, code = await until_closed(ws)
        assert code == 1008, first
        assert errors_in(got) == ["protocol_error"], first
    entries = await rest_entries(world, chat["conversation"]["id"], chat["visitor_token"])
    assert [e["kind"] for e in entries] == ["queued"]


async def test_ws_authentication_failures_close_with_1008(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    chat = await world.open_chat()
    token = chat["visitor_token"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for hello in [
        {"visitor_token": "not-a-token"},
        {"visitor_token": forged},
        {"token": "not-a-session"},
        {"token": world.tokens["alice"] + "x"},
        {},  # no credentials at all (and no cookie)
    ]:
        async with raw_socket(world) as ws:
            await ws.send(json.dumps({"type": "hello", **hello}))
            got, code = await until_closed(ws)
        assert code == 1008, hello
        assert errors_in(got) == ["unauthenticated"], hello
        assert not [m for m in got if m["type"] == "welcome"], hello


async def test_ws_visitor_token_for_a_missing_conversation_closes_with_1008(world: World) -> None:
    # Regression: this used to crash the socket (no error, no close frame: 1006).
    token = world.parley.auth.visitor_token("0" * 32)  # signed by this node, names nothing
    async with raw_socket(world) as ws:
        await ws.send(json.dumps({"type": "hello", "visitor_token": token}))
        got, code = await until_closed(ws)
    assert code == 1008
    assert errors_in(got) == ["unauthenticated"]


# WebSocket: permissions ---------------------------------------------------------------------------


async def test_ws_visitor_token_is_for_its_own_conversation_only(world: World) -> None:
    a = await world.open_chat(name="Ann")
    b = await world.open_chat(name="Ben")
    a_id, b_id = a["conversation"]["id"], b["conversation"]["id"]
    b_before = await rest_entries(world, b_id, b["visitor_token"])

    async with world.visitor(a["visitor_token"]) as ann:
        # Another chat answers exactly like one that does not exist: a token learns nothing.
        error = await ann.request(send_message(b_id, "x1", "I am Ben, honest"))
        assert (error["type"], error["code"]) == ("error", "not_found")
        missing = await ann.request(send_message("f" * 32, "x2", "anyone?"))
        assert {k: v for k, v in missing.items() if k != "ref"} == {
            k: v for k, v in error.items() if k != "ref"
        }
        await still_open(ann)
        error = await ann.request({"type": "end", "conversation_id": b_id})
        assert (error["type"], error["code"]) == ("error", "not_found")
        await still_open(ann)
        await ann.send({"type": "typing", "conversation_id": b_id, "active": True})
        error = await ann.expect_type("error")
        assert error["code"] == "not_found"
        await still_open(ann)
        # Its own conversation still works.
        ack = await ann.request(send_message(a_id, "x1", "hello from Ann"))
        assert ack["type"] == "ack"
        assert not [m for m in ann.received if m.get("conversation_id") == b_id]

    assert await rest_entries(world, b_id, b["visitor_token"]) == b_before
    async with world.node.http(headers={"X-Visitor-Token": a["visitor_token"]}) as http:
        for method, path, body in [
            ("GET", "", None),
            ("GET", "/entries", None),
            ("POST", "/messages", {"client_id": "x3", "text": "hi"}),
            ("POST", "/end", None),
            ("POST", "/leave", None),
        ]:
            theirs = await http.request(method, f"/api/v1/conversations/{b_id}{path}", json=body)
            nowhere = await http.request(
                method, f"/api/v1/conversations/{'f' * 32}{path}", json=body
            )
            assert theirs.status_code == 404, (path, theirs.text)
            assert (theirs.status_code, theirs.json()) == (nowhere.status_code, nowhere.json())
            assert theirs.json()["error"]["code"] == "not_found"
    assert await rest_entries(world, b_id, b["visitor_token"]) == b_before
    async with world.node.http(headers={"X-Visitor-Token": b["visitor_token"]}) as http:
        r = await http.get(f"/api/v1/conversations/{b_id}")
    assert r.json()["conversation"]["status"] == "queued"  # A's "end" did not end it


async def test_ws_visitor_cannot_act_as_staff(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        offer = (await alice.expect_type("offer"))["offer"]
        async with world.visitor(token) as zoe:
            error = await zoe.request({"type": "set_presence", "presence": "available"})
            assert (error["type"], error["code"]) == ("error", "forbidden")
            await still_open(zoe)
            for kind in ["accept_offer", "decline_offer"]:
                error = await zoe.request({"type": kind, "offer_id": offer["offer_id"]})
                assert (error["type"], error["code"]) == ("error", "forbidden"), kind
                await still_open(zoe)
            assert [e["kind"] for e in await rest_entries(world, cid, token)] == ["queued"]

            # The offer is untouched: the agent can still accept it.
            ok = await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            assert ok["type"] == "ok"
            await zoe.expect_type("queue", status="accepted")
    assert [e["kind"] for e in await rest_entries(world, cid, token)] == ["queued", "joined"]


# WebSocket: cursors -------------------------------------------------------------------------------


async def test_ws_cursor_beyond_the_log_is_refused_and_the_log_sent_from_the_start(
    world: World,
) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    other = await world.open_chat(name="Ben")
    async with world.visitor(token) as zoe:
        for i in range(2):
            assert (await zoe.request(send_message(cid, f"c{i}", f"m{i}")))["type"] == "ack"
    log = await rest_entries(world, cid, token)
    assert [e["seq"] for e in log] == [1, 2, 3]

    async with world.visitor(token, cursors={cid: 99}) as zoe:
        kinds = [m["type"] for m in zoe.received]
        error = next(m for m in zoe.received if m["type"] == "error")
        assert error["code"] == "cursor_out_of_range"
        # The error comes first, then the conversation, then its whole log from seq 1.
        assert kinds.index("error") < kinds.index("conversation") < kinds.index("entry")
        assert [e["seq"] for e in zoe.entries(cid)] == [1, 2, 3]
        assert zoe.entries(cid) == log
        await still_open(zoe)

    # A cursor within range resumes after it; one for another conversation is refused.
    async with world.visitor(token, cursors={cid: 2, other["conversation"]["id"]: 0}) as zoe:
        assert errors_in(zoe.received) == ["not_found"]
        assert [e["seq"] for e in zoe.entries(cid)] == [3]
        assert not zoe.entries(other["conversation"]["id"])
    # At the end of the log: nothing to send again, no error.
    async with world.visitor(token, cursors={cid: 3}) as zoe:
        assert errors_in(zoe.received) == []
        assert zoe.entries(cid) == []
    assert await rest_entries(world, cid, token) == log


# WebSocket: origins -------------------------------------------------------------------------------


async def test_ws_cross_origin_upgrade_is_refused(world: World) -> None:
    chat = await world.open_chat()
    token = chat["visitor_token"]
    for origin in [
        "http://evil.example",
        "null",
        f"http://localhost.evil.example:{world.node.port}",
    ]:
        with pytest.raises(InvalidStatus) as refused:
            async with raw_socket(world, additional_headers={"Origin": origin}):
                pass
        assert refused.value.response.status_code == 403, origin

    own = f"http://127.0.0.1:{world.node.port}"
    async with raw_socket(world, additional_headers={"Origin": own}) as ws:
        got = await raw_hello(ws, visitor_token=token)
    assert got[0]["type"] == "welcome"
    # No Origin at all (not a browser) is accepted too.
    async with raw_socket(world) as ws:
        got = await raw_hello(ws, visitor_token=token)
    assert got[0]["type"] == "welcome"


async def test_ws_allowed_origins_setting(tmp_path: Path) -> None:
    extra = "https://shop.example"
    settings = settings_for(tmp_path, allowed_origins=[extra])
    clock = FakeClock()
    async with run_node(settings, clock) as node:
        world = World(node, clock, "sqlite")
        await world.add_workgroup("sales")
        await world.add_staff("alice", workgroups=["sales"])
        chat = await world.open_chat()
        for origin in [extra, f"http://127.0.0.1:{node.port}"]:
            async with raw_socket(world, additional_headers={"Origin": origin}) as ws:
                got = await raw_hello(ws, visitor_token=chat["visitor_token"])
            assert got[0]["type"] == "welcome", origin
        # Staff from an allowed origin with a token: welcome. With only the session cookie
        # (which the browser adds whichever page opens the socket): refused, see
        # tests/api/test_ws_origins.py.
        async with raw_socket(world, additional_headers={"Origin": extra}) as ws:
            got = await raw_hello(ws, token=world.tokens["alice"])
        assert got[0]["session"]["username"] == "alice"
        cookie = {"Origin": extra, "Cookie": f"parley_session={world.tokens['alice']}"}
        async with raw_socket(world, additional_headers=cookie) as ws:
            await ws.send(json.dumps({"type": "hello"}))
            got, code = await until_closed(ws)
        assert (code, errors_in(got)) == (1008, ["forbidden"])
        for origin in ["http://evil.example", "https://shop.example.evil.example"]:
            with pytest.raises(InvalidStatus) as refused:
                async with raw_socket(world, additional_headers={"Origin": origin}):
                    pass
            assert refused.value.response.status_code == 403, origin


# WebSocket + REST: idempotent sends ---------------------------------------------------------------


async def test_repeated_client_id_stores_one_entry(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        offer = (await alice.expect_type("offer"))["offer"]
        assert (await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
            "type"
        ] == "ok"
        await alice.expect_type("conversation")

        async with (
            world.visitor(token) as zoe,
            world.node.http(headers={"X-Visitor-Token": token}) as http,
        ):
            # Twice over the WebSocket.
            first = await zoe.request(send_message(cid, "same", "Hello"))
            again = await zoe.request(send_message(cid, "same", "Hello"))
            assert first["type"] == again["type"] == "ack"
            assert first["entry"] == again["entry"]
            # Once over REST, then over the WebSocket.
            r = await http.post(
                f"/api/v1/conversations/{cid}/messages", json={"client_id": "mixed", "text": "Hi"}
            )
            assert r.status_code == 200, r.text
            over_ws = await zoe.request(send_message(cid, "mixed", "Hi"))
            assert over_ws["entry"] == r.json()
            # Twice over REST.
            r2 = await http.post(
                f"/api/v1/conversations/{cid}/messages", json={"client_id": "mixed", "text": "Hi"}
            )
            assert r2.status_code == 200, r2.text
            assert r2.json() == r.json()
            # The same id with another text: the original entry, nothing new.
            changed = await zoe.request(send_message(cid, "same", "Something else"))
            assert changed["entry"] == first["entry"]
            assert changed["entry"]["body"]["text"] == "Hello"
            # Client ids are per author: the agent's "same" is a message of its own.
            own = await alice.request(send_message(cid, "same", "Agent here"))
            assert own["entry"]["seq"] == first["entry"]["seq"] + 2
            await still_open(zoe)
            await zoe.expect(lambda m: m.get("type") == "entry" and m["entry"]["seq"] == 5)

        messages = [e for e in await rest_entries(world, cid, token) if e["kind"] == "message"]
        assert [(e["client_id"], e["body"]["text"], e["seq"]) for e in messages] == [
            ("same", "Hello", 3),
            ("mixed", "Hi", 4),
            ("same", "Agent here", 5),
        ]
        # Listeners got each entry once.
        assert [e["seq"] for e in zoe.entries(cid)] == [1, 2, 3, 4, 5]
        await still_open(alice)
        assert [e["seq"] for e in alice.entries(cid) if e["kind"] == "message"] == [3, 4, 5]


# REST ---------------------------------------------------------------------------------------------


async def test_rest_malformed_json_body(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await rest_entries(world, cid, token)
    async with world.node.http(headers={"Content-Type": "application/json"}) as http:
        for url, body in [
            ("/api/v1/workgroups/sales/chats", '{"name": "Zoe"'),
            ("/api/v1/workgroups/sales/chats", "name=Zoe"),
            (f"/api/v1/conversations/{cid}/messages", '{"client_id": "c1", "text": }'),
        ]:
            r = await http.post(url, content=body, headers={"X-Visitor-Token": token})
            assert r.status_code == 400, (url, r.text)
            assert r.json()["error"]["code"] == "bad_json", url
    assert await rest_entries(world, cid, token) == before
    # No chat request was queued by the refused forms: the next one is second in line.
    assert (await world.open_chat())["position"] == 2


async def test_rest_invalid_pre_chat_form(world: World) -> None:
    too_many = {f"f{i}": "v" for i in range(21)}
    invalid: list[dict[str, Any]] = [
        {},
        {"email": "zoe@example.com"},
        {"name": ""},
        {"name": "   "},
        {"name": 42},
        {"name": "Zoe", "email": "not-an-email"},
        {"name": "Zoe", "email": "zoe@"},
        {"name": "Zoe", "extra": too_many},
        {"name": "Zoe", "extra": {"k": 1}},
        {"name": "Zoe", "extra": {"k" * 65: "v"}},
        {"name": "Zoe", "question": "q" * (MAX_CHARS + 1)},
        {"name": "Zoe", "favourite_colour": "blue"},
    ]
    async with world.node.http() as http:
        for body in invalid:
            r = await http.post("/api/v1/workgroups/sales/chats", json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["error"]["code"] == "invalid_input", body
        r = await http.post("/api/v1/workgroups/sales/chats", json=[{"name": "Zoe"}])
        assert r.status_code == 422, r.text

        # The limits themselves are fine.
        ok = {"name": "Zoe", "extra": dict(list(too_many.items())[:20]), "question": "q" * 4000}
        r = await http.post("/api/v1/workgroups/sales/chats", json=ok)
        assert r.status_code == 201, r.text
        assert r.json()["position"] == 1  # nothing was queued by the refused forms
        assert r.json()["conversation"]["metadata"]["extra"] == ok["extra"]


async def test_rest_unknown_workgroup(world: World) -> None:
    async with world.node.http() as http:
        r = await http.post("/api/v1/workgroups/nope/chats", json={"name": "Zoe"})
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "not_found"
        r = await http.get("/api/v1/workgroups/nope/status")
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "not_found"


async def test_rest_message_limits_and_cursor(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await rest_entries(world, cid, token)
    url = f"/api/v1/conversations/{cid}/messages"
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        r = await http.post(url, json={"client_id": "c1", "text": "x" * (MAX_CHARS + 1)})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "too_long"
        for blank in ["", "  \n"]:
            r = await http.post(url, json={"client_id": "c1", "text": blank})
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == "invalid_input"
        for body in [{"text": "hi"}, {"client_id": "", "text": "hi"}, {"client_id": "c" * 65}]:
            r = await http.post(url, json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["error"]["code"] == "invalid_input"
        assert await rest_entries(world, cid, token) == before

        r = await http.post(url, json={"client_id": "c1", "text": "x" * MAX_CHARS})
        assert r.status_code == 200, r.text
        last = r.json()["seq"]

        entries = f"/api/v1/conversations/{cid}/entries"
        r = await http.get(entries, params={"after": last})
        assert r.status_code == 200, r.text
        assert r.json() == []
        r = await http.get(entries, params={"after": last - 1})
        assert [e["seq"] for e in r.json()] == [last]
        for beyond in [last + 1, 10**12]:
            r = await http.get(entries, params={"after": beyond})
            assert r.status_code == 400, r.text
            assert r.json()["error"]["code"] == "cursor_out_of_range"
        r = await http.get(entries, params={"after": -1})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_input"
    assert len(await rest_entries(world, cid, token)) == len(before) + 1


# Text the server could not store or send back -----------------------------------------------------


async def test_rest_message_with_a_lone_surrogate_is_refused(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await rest_entries(world, cid, token)
    # Regression: stored, then the reply and every later read of the conversation failed
    # (HTTP 500, WebSockets dropped without a close frame).
    async with world.node.http(
        headers={"X-Visitor-Token": token, "Content-Type": "application/json"}
    ) as http:
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages",
            content='{"client_id": "s1", "text": "broken \\ud800 text"}',
        )
        # The WebSocket refuses the same text as bad_json; REST must refuse it too.
        assert r.status_code in (400, 422), r.text
        assert r.json()["error"]["code"] in ("bad_json", "invalid_input")
        r = await http.get(f"/api/v1/conversations/{cid}/entries")
        assert r.status_code == 200, r.text
        assert r.json() == before


async def test_nul_characters_get_a_typed_answer(world: World) -> None:
    """PostgreSQL cannot hold or compare NUL in text: it used to answer 500 (REST) and
    'internal' (WebSocket) there while SQLite answered normally. Whether NUL is stored or
    refused is the server's choice; it must be a typed answer, the same on every backend."""
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await rest_entries(world, cid, token)
    wrong: list[str] = []  # every entry point that answers wrongly, not just the first
    async with world.visitor(token) as zoe:
        for conversation_id, text in [(cid, "a\x00b"), (cid[:-1] + "\x00", "hi")]:
            reply = await zoe.request(send_message(conversation_id, "nul", text))
            stored = reply["type"] == "ack" and reply["entry"]["body"]["text"] == text
            refused = reply["type"] == "error" and reply["code"] in WS_REFUSALS
            if not (stored or refused) or (stored and conversation_id != cid):
                wrong.append(f"ws send {conversation_id!r} {text!r}: {reply}")
            await still_open(zoe)
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        for method, url, body in [
            ("GET", "/api/v1/conversations/c%00/entries", None),
            ("GET", "/api/v1/workgroups/s%00/status", None),
            ("POST", "/api/v1/workgroups/s%00/chats", {"name": "Zoe"}),
            ("POST", "/api/v1/auth/login", {"username": "a\x00", "password": "x"}),
            ("POST", "/api/v1/workgroups/sales/chats", {"name": "Z\x00e"}),
            ("POST", "/api/v1/workgroups/sales/chats", {"name": "Zoe", "extra": {"k\x00": "v"}}),
            ("POST", f"/api/v1/conversations/{cid}/messages", {"client_id": "n\x00", "text": "x"}),
        ]:
            r = await http.request(method, url, json=body)
            typed = r.status_code < 500 and (r.status_code == 201 or "error" in r.json())
            if not typed:
                wrong.append(f"{method} {url} {body}: {r.status_code} {r.text[:80]}")
    assert wrong == []
    after = await rest_entries(world, cid, token)
    assert after[: len(before)] == before
    assert all(e["client_id"] == "nul" for e in after[len(before) :])


async def test_rest_staff_access_is_checked(world: World) -> None:
    await world.add_workgroup("support")
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("carl", workgroups=["support"])
    await world.add_staff("sam", StaffRole.SUPERVISOR, supervises=["sales"])
    chat = await world.open_chat()
    cid = chat["conversation"]["id"]
    async with world.staff_http("alice") as http:
        # A member of its workgroup reads it, but writes only where she takes part.
        r = await http.get(f"/api/v1/conversations/{cid}")
        assert r.status_code == 200, r.text
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages", json={"client_id": "a1", "text": "hi"}
        )
        assert r.status_code == 403, r.text
        r = await http.get("/api/v1/conversations", params={"all": "true"})
        assert r.status_code == 403, r.text
    async with world.staff_http("carl") as http:
        # Another workgroup's chat reads exactly like one that does not exist.
        for method, path, body in [
            ("GET", "", None),
            ("GET", "/entries", None),
            ("POST", "/messages", {"client_id": "c1", "text": "hi"}),
            ("POST", "/notes", {"client_id": "c2", "text": "hi"}),
            ("POST", "/end", None),
            ("POST", "/leave", None),
            ("POST", "/transfer", {"kind": "queue", "name": "default"}),
            ("POST", "/transfer/cancel", None),
            ("POST", "/invitations", {"user_id": world.user_ids["alice"]}),
            ("GET", "/customer", None),
            ("GET", "/customer/" + "e" * 32, None),
        ]:
            theirs = await http.request(method, f"/api/v1/conversations/{cid}{path}", json=body)
            nowhere = await http.request(
                method, f"/api/v1/conversations/{'f' * 32}{path}", json=body
            )
            assert theirs.status_code == 404, (path, theirs.text)
            assert (theirs.status_code, theirs.json()) == (nowhere.status_code, nowhere.json())
            assert theirs.json() == {
                "error": {"code": "not_found", "message": "no such conversation"}
            }
    async with world.staff_http("sam") as http:
        # A supervisor reads everything but writes only where they take part.
        r = await http.get(f"/api/v1/conversations/{cid}")
        assert r.status_code == 200, r.text
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages", json={"client_id": "s1", "text": "hi"}
        )
        assert r.status_code == 403, r.text
    async with world.node.http() as anonymous:
        r = await anonymous.get(f"/api/v1/conversations/{cid}")
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "unauthenticated"
    assert [e["kind"] for e in await rest_entries(world, cid, chat["visitor_token"])] == ["queued"]
