"""The staff directory through the public API, on both backends: search with presence, titles,
photos (only re-encoded pixels are served; bad files and bombs refused), buddy lists, idle
presence over the WebSocket, busy silencing mentions, and status texts under the house rules."""

from __future__ import annotations

import asyncio
import io
import json
import os
import struct
import zlib
from typing import Any

import httpx
from PIL import Image
from tests.support import World, WsClient

from parley.domain.access import StaffRole

PHOTO = "/api/v1/me/photo"
AUDIT = "/api/v1/admin/audit"


async def rest(world: World, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
    async with world.staff_http(who) as http:
        return await http.request(method, path, **kw)


async def ok(world: World, who: str, method: str, path: str, **kw: Any) -> Any:
    r = await rest(world, who, method, path, **kw)
    assert r.status_code in (200, 201, 204), r.text
    return None if r.status_code == 204 else r.json()


def png(size: tuple[int, int] = (400, 300), mode: str = "RGB", **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode == "RGB" else 0).save(out, format="PNG", **save)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def claimed_bomb() -> bytes:
    """A 100 000 x 100 000 PNG in 80 bytes: the header claims 10^10 pixels."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + _chunk(b"IEND", b"")
    )


async def ping(ws: WsClient) -> None:
    assert (await ws.request({"type": "ping"}))["type"] == "pong"


# Directory and profiles ----------------------------------------------------------------------


async def test_directory_lists_and_searches_staff_with_presence(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob")
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    me = await ok(world, "bob", "put", "/api/v1/me/profile", json={"title": " Night_shift lead "})
    assert me["title"] == "Night_shift lead" and me["photo_url"] is None
    async with world.agent("alice") as alice:
        await alice.request({"type": "set_presence", "presence": "busy", "status_text": "call"})
        listed = await ok(world, "sam", "get", "/api/v1/directory")
        assert [e["username"] for e in listed] == ["alice", "bob", "sam"]
        assert listed[0] | {"user_id": 0} == {
            "user_id": 0,
            "username": "alice",
            "display_name": "Alice",
            "role": "agent",
            "title": "",
            "presence": "busy",
            "status_text": "call",
            "idle": False,
            "photo_url": None,
        }
    # By display name, username or title, any case; "_" and "%" are plain characters.
    for q, expect in (("ALI", ["alice"]), ("night", ["bob"]), ("_", ["bob"]), ("%", [])):
        found = await ok(world, "alice", "get", "/api/v1/directory", params={"q": q})
        assert [e["username"] for e in found] == expect, q
    page = await ok(world, "alice", "get", "/api/v1/directory", params={"limit": 1, "offset": 1})
    assert [e["username"] for e in page] == ["bob"]
    for params in ({"limit": 0}, {"limit": 201}, {"q": "x" * 101}, {"offset": -1}):
        r = await rest(world, "alice", "get", "/api/v1/directory", params=params)
        assert r.status_code == 422, params
    r = await rest(world, "bob", "put", "/api/v1/me/profile", json={"title": "t" * 81})
    assert r.status_code == 422 and "80" in r.json()["error"]["message"]
    async with world.node.http() as anonymous:
        assert (await anonymous.get("/api/v1/directory")).status_code == 401


async def test_profile_changes_reach_every_staff_connection(world: World) -> None:
    await world.add_staff("alice")
    await world.add_staff("bob")
    async with world.agent("bob", available=False) as bob:
        await ok(world, "alice", "put", "/api/v1/me/profile", json={"title": "Support"})
        seen = await bob.expect_type("staff_profile", user_id=world.user_ids["alice"])
        assert (seen["title"], seen["photo_url"]) == ("Support", None)
        me = await ok(world, "alice", "put", PHOTO, content=png())
        seen = await bob.expect_type("staff_profile", photo_url=me["photo_url"])
        assert seen["title"] == "Support"


async def test_photo_is_reencoded_and_served_as_pixels_only(world: World) -> None:
    await world.add_staff("alice")
    await world.add_staff("bob")
    # A JPEG with EXIF, uploaded under a misleading name and type: the content decides.
    source = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    Image.new("RGB", (640, 480), "blue").save(source, format="JPEG", exif=exif.tobytes())
    me = await ok(
        world,
        "alice",
        "put",
        PHOTO,
        content=source.getvalue(),
        headers={"Content-Type": "text/html"},
    )
    url = me["photo_url"]
    assert url.startswith(f"/api/v1/staff/{world.user_ids['alice']}/photo?v=")
    r = await rest(world, "bob", "get", url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    etag = r.headers["etag"]
    assert url.endswith(etag.strip('"'))
    served = Image.open(io.BytesIO(r.content))
    assert (served.format, served.size) == ("PNG", (256, 256))
    assert served.info == {} and not served.getexif()
    assert b"secret" not in r.content
    again = await rest(world, "bob", "get", url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    # A small square stays small; a GIF or WebP is accepted too.
    for fmt in ("GIF", "WEBP"):
        small = io.BytesIO()
        Image.new("RGB", (64, 32), "green").save(small, format=fmt)
        me = await ok(world, "alice", "put", PHOTO, content=small.getvalue())
        r = await rest(world, "bob", "get", me["photo_url"])
        assert Image.open(io.BytesIO(r.content)).size == (32, 32), fmt
    await ok(world, "alice", "delete", PHOTO)
    assert (await rest(world, "bob", "get", url)).status_code == 404
    r = await rest(world, "bob", "get", "/api/v1/staff/999999/photo")
    assert r.status_code == 404


async def test_a_photo_over_the_limit_is_refused_unread(world: World) -> None:
    await world.add_staff("alice")
    # Bigger than max_body_bytes (64 KiB) but within max_photo_bytes: accepted.
    noise = io.BytesIO()
    Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)).save(noise, format="PNG")
    assert len(noise.getvalue()) > 100_000
    await ok(world, "alice", "put", PHOTO, content=noise.getvalue())
    # 10 MB announced, 1 KB sent: the answer comes without the rest.
    reader, writer = await asyncio.open_connection("127.0.0.1", world.node.port)
    try:
        writer.write(
            b"PUT /api/v1/me/photo HTTP/1.1\r\nHost: test\r\n"
            + f"Authorization: Bearer {world.tokens['alice']}\r\n".encode()
            + b"Content-Type: image/png\r\nContent-Length: 10485760\r\n\r\n"
            + b"\x89PNG" * 256
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        body = await asyncio.wait_for(reader.read(4096), 10)
    finally:
        writer.close()
    assert int(head.split(b" ", 2)[1]) == 413
    assert json.loads(body)["error"]["code"] == "body_too_large"


async def test_bad_photos_are_refused(world: World) -> None:
    await world.add_staff("alice")
    cases: list[tuple[bytes, int, str]] = [
        (b"just some text, named photo.png\n" * 20, 422, "bad_image"),
        (b"", 422, "bad_image"),
        (png()[:60], 422, "bad_image"),  # truncated
        (claimed_bomb(), 422, "bad_image"),
        (png((12_000, 12_000), mode="1"), 422, "bad_image"),  # 144 M pixels in a few KB
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            422,
            "bad_image",
        ),
        (b"%PDF-1.4\n" + b"0" * 100, 422, "bad_image"),
    ]
    for body, status, code in cases:
        r = await rest(
            world, "alice", "put", PHOTO, content=body, headers={"Content-Type": "image/png"}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    listed = await ok(world, "alice", "get", "/api/v1/directory")
    assert listed[0]["photo_url"] is None  # nothing was stored
    # Every upload counts (photo_limit, 10 per 10 minutes): each one costs a decode.
    assert len(cases) == 7
    for _ in range(3):
        await ok(world, "alice", "put", PHOTO, content=png())
    r = await rest(world, "alice", "put", PHOTO, content=png())
    assert (r.status_code, r.json()["error"]["code"]) == (429, "rate_limited")
    assert r.json()["error"]["details"]["retry_after"] > 0


# Buddy lists ---------------------------------------------------------------------------------


async def test_buddy_list_is_personal_and_checked(world: World) -> None:
    await world.add_staff("alice")
    await world.add_staff("bob")
    await world.add_staff("carol")
    bob, carol = world.user_ids["bob"], world.user_ids["carol"]
    empty = await ok(world, "alice", "get", "/api/v1/me/buddies")
    assert empty == {"favourites": [], "groups": [], "members": []}
    saved = await ok(
        world,
        "alice",
        "put",
        "/api/v1/me/buddies",
        json={"favourites": [carol, bob, carol], "groups": [{"name": "Team", "user_ids": [bob]}]},
    )
    assert saved["favourites"] == [carol, bob]
    assert saved["groups"] == [{"name": "Team", "user_ids": [bob]}]
    assert sorted(m["username"] for m in saved["members"]) == ["bob", "carol"]
    # Bob's own list is his: alice's is not in it.
    assert (await ok(world, "bob", "get", "/api/v1/me/buddies"))["favourites"] == []
    for body in (
        {"favourites": [999999]},
        {"favourites": list(range(201))},
        {"groups": [{"name": "x" * 10_000, "user_ids": []}]},
        {"groups": [{"name": "A", "user_ids": []}, {"name": "a", "user_ids": []}]},
        {"groups": [{"name": f"g{i}"} for i in range(51)]},
        {"favourites": [bob], "extra": 1},
    ):
        r = await rest(world, "alice", "put", "/api/v1/me/buddies", json=body)
        assert r.status_code == 422, body
    # A deactivated colleague drops out of the list as read.
    await world.parley.admin.update_user(None, "carol", active=False)
    now = await ok(world, "alice", "get", "/api/v1/me/buddies")
    assert now["favourites"] == [bob]
    assert [m["username"] for m in now["members"]] == ["bob"]


# Presence: idle, busy, status text ------------------------------------------------------------


async def test_idle_browser_turns_available_away_and_back(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob")
    alice_id = world.user_ids["alice"]
    async with world.agent("bob", available=False) as bob:
        async with world.agent("alice") as alice, world.agent("alice", available=False) as tab:
            welcome = next(m for m in alice.received if m["type"] == "welcome")
            assert welcome["idle_away_secs"] == 300
            await bob.expect_type("presence", user_id=alice_id, presence="available")
            # One tab idle: the other is active, she stays available.
            assert (await alice.request({"type": "idle", "idle": True}))["type"] == "ok"
            # Both idle: away, marked as idle.
            await tab.request({"type": "idle", "idle": True})
            seen = await bob.expect_type("presence", user_id=alice_id, presence="away")
            assert seen["idle"] is True
            listed = await ok(world, "bob", "get", "/api/v1/directory", params={"q": "alice"})
            assert (listed[0]["presence"], listed[0]["idle"]) == ("away", True)
            # An idle agent gets no offers.
            await world.open_chat()
            await ping(alice)
            assert not [m for m in alice.received if m["type"] == "offer"]
            # Back at one tab: available again, and the waiting chat is offered.
            await tab.request({"type": "idle", "idle": False})
            seen = await bob.expect_type("presence", user_id=alice_id, presence="available")
            assert seen["idle"] is False
            await alice.expect_type("offer")
            # A chosen away is not undone by activity.
            await alice.request({"type": "set_presence", "presence": "away"})
            await bob.expect_type("presence", user_id=alice_id, presence="away", idle=False)
            await alice.request({"type": "idle", "idle": True})
            await alice.request({"type": "idle", "idle": False})
            await ping(bob)
            about = [
                m for m in bob.received if m["type"] == "presence" and m["user_id"] == alice_id
            ]
            assert about[-1]["presence"] == "away"
            # Idle away, then gone: offline after the grace period (fake clock), and activity
            # on a new connection does not bring her back to available.
            await alice.request({"type": "set_presence", "presence": "available"})
            await alice.request({"type": "idle", "idle": True})
            await tab.request({"type": "idle", "idle": True})
            await bob.expect_type("presence", user_id=alice_id, presence="away", idle=True)
        bob.drain_pending()
        world.clock.advance(60)
        await bob.expect_type("presence", user_id=alice_id, presence="offline")
        async with world.agent("alice", available=False) as again:
            await again.request({"type": "idle", "idle": False})
            await ping(bob)
            about = [
                m for m in bob.received if m["type"] == "presence" and m["user_id"] == alice_id
            ]
            assert about[-1]["presence"] == "offline"
            bad = await again.request({"type": "idle", "idle": "maybe"})
            assert bad["code"] == "invalid_message"


async def test_busy_silences_mentions_but_not_unread_counts(world: World) -> None:
    await world.add_staff("alice")
    await world.add_staff("bob")
    bob_id = world.user_ids["bob"]
    dm = await ok(world, "alice", "post", "/api/v1/im/direct", json={"user_ids": [bob_id]})
    cid = dm["id"]
    async with world.agent("bob", available=False) as bob:
        await bob.request({"type": "set_presence", "presence": "busy", "status_text": "focus"})
        await ok(
            world,
            "alice",
            "post",
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": "a1", "text": "@bob are you there?"},
        )
        await ping(bob)
        assert not [m for m in bob.received if m["type"] == "mention"]
        (mine,) = await ok(world, "bob", "get", "/api/v1/im/conversations")
        assert mine["unread"] == 1
        await bob.request({"type": "set_presence", "presence": "available"})
        await ok(
            world,
            "alice",
            "post",
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": "a2", "text": "@bob now?"},
        )
        mention = await bob.expect_type("mention")
        assert mention["seq"] == 2


async def test_status_text_under_the_house_rules(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    async with world.staff_http("root") as http:
        for value, action in (("guarantee", "refuse"), ("idiot", "mask"), ("hiring", "notify")):
            r = await http.post(
                "/api/v1/admin/blocked-words",
                json={"kind": "term", "value": value, "action": action, "scopes": ["status_text"]},
            )
            assert r.status_code == 201, r.text
    async with world.agent("alice", available=False) as alice:
        error = await alice.request(
            {"type": "set_presence", "presence": "busy", "status_text": "We gua\u200brantee it"}
        )
        assert (error["type"], error["code"]) == ("error", "blocked_word")
        r = await rest(
            world,
            "alice",
            "put",
            "/api/v1/me/presence",
            json={"presence": "busy", "status_text": "we g u a r a n t e e"},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "blocked_word")
        listed = await ok(world, "alice", "get", "/api/v1/directory", params={"q": "alice"})
        assert (listed[0]["presence"], listed[0]["status_text"]) == ("offline", "")
        assert (
            await alice.request(
                {
                    "type": "set_presence",
                    "presence": "busy",
                    "status_text": "no \u0456d\u200biot here",
                }
            )
        )["type"] == "ok"
        listed = await ok(world, "alice", "get", "/api/v1/directory", params={"q": "alice"})
        assert (listed[0]["presence"], listed[0]["status_text"]) == ("busy", "no *** here")
        r = await rest(
            world,
            "alice",
            "put",
            "/api/v1/me/presence",
            json={"presence": "busy", "status_text": "two\nlines"},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")
    async with world.agent("root", available=False) as root:
        async with world.agent("alice", available=False) as alice:
            reply = await alice.request(
                {"type": "set_presence", "presence": "away", "status_text": "We are hiring"}
            )
            assert reply["type"] == "ok"
        notice = await root.expect_type("blocked_word")
        assert notice["conversation_id"] == f"status_text:{world.user_ids['alice']}"
        assert (notice["scope"], notice["words"]) == ("status_text", ["hiring"])
    async with world.staff_http("root") as http:
        audited = (await http.get(AUDIT, params={"action": "blocked_word"})).json()
    assert sorted(a["action"] for a in audited) == [
        "blocked_word.masked",
        "blocked_word.notified",
        "blocked_word.refused",
        "blocked_word.refused",
    ]
    assert {a["details"]["scope"] for a in audited} == {"status_text"}


async def test_guests_are_not_in_the_directory_and_do_not_read_it(world: World) -> None:
    from tests.api.test_accounts import room_with_guest

    await room_with_guest(world)
    gus = world.user_ids["gus"]
    listed = await ok(world, "olga", "get", "/api/v1/directory")
    assert [e["username"] for e in listed] == ["olga"]
    assert (await rest(world, "olga", "get", f"/api/v1/directory/{gus}")).status_code == 404
    r = await rest(world, "olga", "put", "/api/v1/me/buddies", json={"favourites": [gus]})
    assert r.status_code == 422
    for method, path, kw in (
        ("get", "/api/v1/directory", {}),
        ("get", "/api/v1/me/buddies", {}),
        ("put", PHOTO, {"content": png()}),
        ("put", "/api/v1/me/profile", {"json": {"title": "Partner"}}),
        ("get", "/api/v1/templates", {}),
    ):
        r = await rest(world, "gus", method, path, **kw)
        assert r.status_code == 403, (path, r.text)


async def test_the_older_staff_list_is_still_served_and_marked_deprecated(world: World) -> None:
    await world.add_staff("alice")
    async with world.staff_http("alice") as http:
        r = await http.get("/api/v1/staff")
        assert r.status_code == 200 and [m["username"] for m in r.json()] == ["alice"]
        spec = (await http.get("/openapi.json")).json()
    assert spec["paths"]["/api/v1/staff"]["get"]["deprecated"] is True
    assert "deprecated" not in spec["paths"]["/api/v1/directory"]["get"]
