"""JSON the server will not take: too deep, or with a key twice. A typed ``bad_json`` answer,
nothing stored, and the WebSocket stays open."""

from __future__ import annotations

import json
from typing import Any

from tests.support import World
from websockets.asyncio.client import connect

MAX_JSON_DEPTH = 32  # docs/protocol.md


def nested(depth: int) -> str:
    """A ``send`` whose ``text`` is ``depth - 1`` lists deep (the message itself is level 1)."""
    return '{"type": "send", "ref": "d", "text": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


async def entries(world: World, cid: str, token: str) -> list[dict[str, Any]]:
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        r = await http.get(f"/api/v1/conversations/{cid}/entries")
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_ws_deep_json_and_duplicate_keys_get_bad_json_and_the_socket_stays(
    world: World,
) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await entries(world, cid, token)
    send = {"conversation_id": cid, "client_id": "c1", "text": "smuggled"}
    frames = [
        "[" * 1000 + "]" * 1000,  # used to drop the socket (1006) with a traceback
        '{"type": "ping", "ref": ' + "[" * 1000 + "]" * 1000 + "}",
        nested(MAX_JSON_DEPTH + 1),
        # The last "type" used to win: a ping that stored a message.
        '{"type": "ping", "ref": "p", "conversation_id": "' + cid + '", "client_id": "c1",'
        ' "text": "smuggled", "type": "send"}',
        json.dumps({"type": "send", **send})[:-1] + ', "text": "other"}',
        '{"type": "typing", "conversation_id": "' + cid + '", "active": true, "active": false}',
        '{"type": "ping", "ref": "n", "x": NaN}',
    ]
    async with world.visitor(token) as zoe:
        for frame in frames:
            await zoe.ws.send(frame)
            error = await zoe.expect_type("error")
            assert error["code"] == "bad_json", frame[:80]
            assert (await zoe.request({"type": "ping"}))["type"] == "pong"
        # Brackets inside strings do not count, and the limit itself is fine.
        deep_text = "[{" * 1000
        ack = await zoe.request({"type": "send", **send, "client_id": "c2", "text": deep_text})
        assert ack["type"] == "ack", ack
        await zoe.ws.send(nested(MAX_JSON_DEPTH))
        error = await zoe.expect_type("error", ref="d")
        assert error["code"] == "invalid_message"  # JSON within the limit; a list is no text
    after = await entries(world, cid, token)
    assert after[: len(before)] == before
    assert [e["body"]["text"] for e in after[len(before) :]] == [deep_text]


async def test_ws_hello_with_a_duplicate_key_is_refused(world: World) -> None:
    chat = await world.open_chat()
    token = chat["visitor_token"]
    frame = '{"type": "ping", "visitor_token": "' + token + '", "type": "hello"}'
    async with connect(world.node.ws_url) as ws:
        await ws.send(frame)
        reply = json.loads(await ws.recv())
        assert reply["code"] == "protocol_error"
        await ws.wait_closed()
        assert ws.close_code == 1008


async def test_rest_deep_json_and_duplicate_keys_get_bad_json(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    before = await entries(world, cid, token)
    message = '{"client_id": "c1", "text": "hi"'
    bodies = [
        (f"/api/v1/conversations/{cid}/messages", message + ', "text": "other"}'),
        (
            f"/api/v1/conversations/{cid}/messages",
            message + ', "x": ' + "[" * 1000 + "]" * 1000 + "}",
        ),
        (f"/api/v1/conversations/{cid}/messages", message + ', "x": ' + "[" * 60_000 + "}"),
        ("/api/v1/workgroups/sales/chats", '{"name": "Eve", "name": "Mallory"}'),
        ("/api/v1/workgroups/sales/chats", '{"name": "Eve", "extra": {"a": "1", "a": "2"}}'),
    ]
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        for url, body in bodies:
            for content_type in ["application/json", None]:
                headers = {} if content_type is None else {"Content-Type": content_type}
                r = await http.post(url, content=body, headers=headers)
                assert r.status_code == 400, (url, body[:60], r.text[:200])
                error = r.json()["error"]
                assert error["code"] == "bad_json", (url, body[:60])
        r = await http.post(url=bodies[0][0], content=bodies[0][1])
        assert "twice" in r.json()["error"]["message"]
        # Brackets inside strings are text; the same message without the duplicate is taken.
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages", json={"client_id": "c2", "text": "[[[" * 50}
        )
        assert r.status_code == 200, r.text
    after = await entries(world, cid, token)
    assert [e["body"].get("text") for e in after[len(before) :]] == ["[[[" * 50]
    # No chat was opened by the refused forms: the next one is second in line.
    assert (await world.open_chat())["position"] == 2
