"""The archive through the public API, on both backends: the policy and its notice, search
and export with progress (audited), compliance reads of DMs (audited), the retention job
(chats whole, staff conversations trimmed with ``history_removed`` on resume), and a
customer's data on request, with what a legal hold keeps."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import httpx
from tests.support import World, WsClient

from parley.domain.access import StaffRole

ADMIN = "/api/v1/admin/archive"
SEARCH = "/api/v1/archive/search"
EXPORTS = "/api/v1/archive/exports"
DAY = 86_400


async def rest(world: World, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
    async with world.staff_http(who) as http:
        return await http.request(method, path, **kw)


async def ok(world: World, who: str, method: str, path: str, **kw: Any) -> Any:
    r = await rest(world, who, method, path, **kw)
    assert r.status_code in (200, 201, 202, 204), r.text
    return None if r.status_code == 204 else r.json()


async def visitor_says(world: World, chat: dict[str, Any], client_id: str, text: str) -> None:
    async with world.node.http() as http:
        r = await http.post(
            f"/api/v1/conversations/{chat['conversation']['id']}/messages",
            json={"client_id": client_id, "text": text},
            headers={"X-Visitor-Token": chat["visitor_token"]},
        )
        assert r.status_code == 200, r.text


async def end_chat(world: World, chat: dict[str, Any]) -> None:
    async with world.node.http() as http:
        r = await http.post(
            f"/api/v1/conversations/{chat['conversation']['id']}/end",
            headers={"X-Visitor-Token": chat["visitor_token"]},
        )
        assert r.status_code == 204, r.text


async def audit_actions(world: World) -> list[str]:
    rows = await ok(world, "root", "get", "/api/v1/admin/audit", params={"action": "archive"})
    return [r["action"] for r in rows]


async def test_admins_set_the_policy_and_everyone_sees_the_notice(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    notice = "Chats are archived for 90 days <and read by compliance>."
    got = await ok(
        world,
        "root",
        "put",
        ADMIN,
        json={"keep_days": {"customer_chat": 90, "direct": None, "room": 30}, "notice": notice},
    )
    assert got["keep_days"] == {
        "customer_chat": 90,
        "direct": None,
        "room": 30,
        "backchannel": None,
    }
    assert got["notice"] == notice
    async with world.node.http() as http:
        status = (await http.get("/api/v1/workgroups/sales/status")).json()
    assert status["archive_notice"] == notice
    told = await ok(world, "alice", "get", "/api/v1/archive/notice")
    assert told["notice"] == notice
    assert told["keep_days"] == got["keep_days"]
    assert told["updated_at"] is not None
    assert told["lines"]["room"] == (
        "Rooms are archived; each message is kept for 30 days, then removed."
    )
    assert told["lines"]["direct"] == "Direct messages are archived and kept with no time limit."
    # Staff are told it in ``welcome`` too (visitors: in the workgroup's status).
    async with world.agent("alice", available=False) as alice:
        welcome = next(m for m in alice.received if m["type"] == "welcome")
    assert welcome["archive"] == told
    chat = await world.open_chat()
    async with WsClient.connect(world.node.ws_url) as visitor:
        welcome = await visitor.hello(visitor_token=chat["visitor_token"])
    assert welcome["archive"] is None
    # Only admins; bad input is refused and changes nothing.
    assert (await rest(world, "alice", "put", ADMIN, json={"notice": "x"})).status_code == 403
    for bad in (
        {"keep_days": {"room": 0}},
        {"keep_days": {"nope": 3}},
        {"notice": "two\nlines"},
        {"notice": "x" * 501},
    ):
        r = await rest(world, "root", "put", ADMIN, json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert (await ok(world, "root", "get", ADMIN))["notice"] == notice
    assert "archive.policy" in await audit_actions(world)


async def test_supervisors_search_and_export_with_progress_all_audited(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sam", StaffRole.SUPERVISOR, supervises=["sales"])
    await world.add_staff("tess", StaffRole.SUPERVISOR)  # supervises no workgroup
    await world.add_staff("alice")
    chats = []
    for i in range(3):
        chat = await world.open_chat(name=f"Zoe <{i}>")
        await visitor_says(world, chat, "v1", f"Can you give a guarantée on order {i}? <b>now</b>")
        chats.append(chat)
    await visitor_says(world, chats[0], "v2", "unrelated words")
    hits = await ok(world, "sam", "post", SEARCH, json={"words": "guarantee"})
    assert sorted(h["conversation_id"] for h in hits) == sorted(
        c["conversation"]["id"] for c in chats
    )
    assert all("<b>now</b>" in h["text"] for h in hits)
    # A supervisor finds and reads the customer chats of the workgroups they supervise only.
    assert await ok(world, "tess", "post", SEARCH, json={"words": "guarantee"}) == []
    cid = chats[0]["conversation"]["id"]
    r = await rest(world, "tess", "get", f"/api/v1/archive/conversations/{cid}")
    assert r.status_code == 404 and r.json()["error"]["message"] == "no such conversation"
    assert await ok(world, "sam", "post", SEARCH, json={"words": "guarantee", "kind": "room"}) == []
    paged = await ok(world, "sam", "post", SEARCH, params={"limit": 1}, json={"words": "order"})
    assert len(paged) == 1
    # Agents do not search the archive; a search of nothing but punctuation finds nothing.
    assert (await rest(world, "alice", "post", SEARCH, json={"words": "x"})).status_code == 403
    assert await ok(world, "sam", "post", SEARCH, json={"words": "\"'*"}) == []
    r = await rest(world, "sam", "post", SEARCH, params={"limit": 201}, json={})
    assert r.status_code == 422

    started = await ok(world, "sam", "post", EXPORTS, json={"words": "guarantee"})
    assert started["state"] in ("running", "done")
    await world.parley.archive.wait_exports()
    state = await ok(world, "sam", "get", f"{EXPORTS}/{started['id']}")
    assert state["state"] == "done" and state["percent"] == 100 and state["total"] == 3
    # Someone else's export reads like none at all.
    await world.add_staff("sue", StaffRole.SUPERVISOR)
    assert (await rest(world, "sue", "get", f"{EXPORTS}/{started['id']}")).status_code == 404
    r = await rest(world, "sam", "get", f"{EXPORTS}/{started['id']}/download")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert sum(1 for line in lines if line["type"] == "conversation") == 3
    r = await rest(world, "sam", "get", f"{EXPORTS}/{started['id']}/download?format=html")
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert len(zf.namelist()) == 3
        page = zf.read(zf.namelist()[0]).decode()
    assert "&lt;b&gt;now&lt;/b&gt;" in page and "<b>now" not in page
    assert "Zoe &lt;" in page
    actions = await audit_actions(world)
    assert {"archive.search", "archive.export", "archive.export.downloaded"} <= set(actions)


async def test_compliance_reads_dms_only_through_the_archive_and_every_read_is_audited(
    world: World,
) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    await world.add_staff("alice")
    await world.add_staff("bob")
    dm = await ok(
        world, "alice", "post", "/api/v1/im/direct", json={"user_ids": [world.user_ids["bob"]]}
    )
    await ok(
        world,
        "alice",
        "post",
        f"/api/v1/conversations/{dm['id']}/messages",
        json={"client_id": "a1", "text": "the secret pricing"},
    )
    path = f"/api/v1/archive/conversations/{dm['id']}"
    # A supervisor does not read a DM, in the archive either; nor find it by search.
    assert (await rest(world, "sam", "get", path)).status_code == 404
    assert await ok(world, "sam", "post", SEARCH, json={"words": "pricing"}) == []
    # Only admins give the right.
    sam_right = f"/api/v1/admin/users/{world.user_ids['sam']}/compliance"
    assert (
        await rest(world, "sam", "put", sam_right, json={"compliance": True})
    ).status_code == 403
    await ok(world, "root", "put", sam_right, json={"compliance": True})
    got = await ok(world, "sam", "get", path)
    assert [e["body"]["text"] for e in got["entries"] if e["kind"] == "message"] == [
        "the secret pricing"
    ]
    assert len(await ok(world, "sam", "post", SEARCH, json={"words": "pricing"})) == 1
    # The right reaches through the archive only: the IM still says no.
    assert (await rest(world, "sam", "get", f"/api/v1/conversations/{dm['id']}")).status_code == 404
    rows = await ok(
        world, "root", "get", "/api/v1/admin/audit", params={"action": "archive.compliance_read"}
    )
    assert [r["subject"] for r in rows] == [dm["id"]]
    # An agent given the right reads a DM they are not in, audited too; taken away, no more.
    await ok(world, "root", "put", sam_right, json={"compliance": False})
    assert (await rest(world, "sam", "get", path)).status_code == 404
    r = await rest(
        world, "root", "put", "/api/v1/admin/users/99999/compliance", json={"compliance": True}
    )
    assert r.status_code == 404


async def test_retention_removes_what_expired_oldest_first_and_explains_trimmed_history(
    world: World,
) -> None:
    # The sweeps are run by hand here, not also by the maintenance loop on the clock's advance.
    world.parley.maintenance.sweeps.remove(world.parley.archive.sweep)
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    await world.add_staff("bob")
    old = await world.open_chat(name="Old")
    held = await world.open_chat(name="Held")
    live = await world.open_chat(name="Live")
    for chat in (old, held):
        await end_chat(world, chat)
    dm = await ok(
        world, "alice", "post", "/api/v1/im/direct", json={"user_ids": [world.user_ids["bob"]]}
    )
    cid = dm["id"]

    async def say(client_id: str, text: str) -> int:
        entry = await ok(
            world,
            "alice",
            "post",
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": client_id, "text": text},
        )
        return int(entry["seq"])

    first = await say("a1", "old news")
    await ok(
        world,
        "root",
        "put",
        ADMIN,
        json={"keep_days": {"customer_chat": 1, "direct": 1}},
    )
    hold = await ok(
        world,
        "root",
        "post",
        f"{ADMIN}/holds",
        json={"conversation_id": held["conversation"]["id"], "reason": "case 42"},
    )
    world.clock.advance(2 * DAY)
    kept = await say("a2", "fresh news")
    await world.parley.archive.sweep()

    async def status(chat: dict[str, Any]) -> int:
        path = f"/api/v1/conversations/{chat['conversation']['id']}"
        return (await rest(world, "root", "get", path)).status_code

    assert await status(old) == 404  # ended and expired: gone whole
    assert await status(held) == 200  # held
    assert await status(live) == 200  # not ended
    assert await ok(
        world, "root", "get", f"/api/v1/archive/conversations/{held['conversation']['id']}"
    )
    got = await ok(world, "alice", "get", f"/api/v1/conversations/{cid}")
    assert got["conversation"]["history_starts_at_seq"] == kept
    assert [e["seq"] for e in got["entries"]] == [kept]
    assert first < kept
    # A client resuming from before the cut is told, then sent what is kept.
    async with world.agent("alice", available=False, cursors={cid: 0}) as alice:
        error = await alice.expect_type("error")
        assert error["code"] == "history_removed" and error["conversation_id"] == cid
        entry = await alice.expect(lambda m: m.get("type") == "entry")
        assert entry["entry"]["seq"] == kept
    # A cursor at or after the cut needs nothing explained.
    async with world.agent("alice", available=False, cursors={cid: kept}) as alice:
        await alice.request({"type": "ping"})
        assert not [m for m in alice.drain_pending() if m.get("type") == "error"]
    # Released, the held chat goes on the next sweep.
    await ok(world, "root", "delete", f"{ADMIN}/holds/{hold['id']}")
    await world.parley.archive.sweep()
    assert await status(held) == 404
    assert "archive.retention" in await audit_actions(world)


async def test_customer_data_export_and_delete_explain_what_a_hold_keeps(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    chats = [await world.open_chat(name="Zoe", email="Zoe@Example.com") for _ in range(3)]
    other = await world.open_chat(name="Ann", email="ann@example.com")
    for chat in [*chats[:2], other]:
        await end_chat(world, chat)
    body = {"email": "zoe@example.com"}
    r = await rest(world, "root", "post", "/api/v1/archive/customers/export", json=body)
    assert r.status_code == 422 and "confirm_email" in r.json()["error"]["message"]
    body["confirm_email"] = True  # type: ignore[assignment]
    assert (
        await rest(world, "sam", "post", "/api/v1/archive/customers/export", json=body)
    ).status_code == 403
    data = await ok(world, "root", "post", "/api/v1/archive/customers/export", json=body)
    assert len(data["conversations"]) == 3
    assert all(c["entries"] is not None for c in data["conversations"])
    held_id = chats[0]["conversation"]["id"]
    hold = await ok(
        world, "root", "post", f"{ADMIN}/holds", json={"conversation_id": held_id, "reason": "suit"}
    )
    bad = {"sub": "x", "email": "a@b.example", "confirm_email": True}
    r = await rest(world, "root", "post", "/api/v1/archive/customers/delete", json=bad)
    assert r.status_code == 422
    gone = await ok(world, "root", "post", "/api/v1/archive/customers/delete", json=body)
    assert gone["conversations"] == [chats[1]["conversation"]["id"]]
    assert gone["kept"] == [{"what": held_id, "hold_id": hold["id"], "reason": "suit"}]
    assert gone["open_chats"] == [chats[2]["conversation"]["id"]]
    path = "/api/v1/conversations/"
    assert (
        await rest(world, "root", "get", path + chats[1]["conversation"]["id"])
    ).status_code == 404
    assert (await rest(world, "root", "get", path + held_id)).status_code == 200
    assert (await rest(world, "root", "get", path + other["conversation"]["id"])).status_code == 200
    assert {"archive.customer.exported", "archive.customer.deleted"} <= set(
        await audit_actions(world)
    )


async def test_a_long_trim_is_spread_over_batches_and_stays_a_prefix(
    world: World, monkeypatch: Any
) -> None:
    from parley.storage import archive

    monkeypatch.setattr(archive, "MAX_TRIM_ENTRIES", 1)
    # The batches are run by hand here, one at a time, not also by the maintenance loop.
    world.parley.maintenance.sweeps.remove(world.parley.archive.sweep)
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    await world.add_staff("bob")
    room = await ok(world, "alice", "post", "/api/v1/im/rooms", json={"name": "Ops"})
    cid = room["id"]
    for i in range(3):
        await ok(
            world,
            "alice",
            "post",
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": f"a{i}", "text": f"note {i}"},
        )
    await ok(world, "root", "put", ADMIN, json={"keep_days": {"room": 1}})
    world.clock.advance(2 * DAY)
    starts = []
    for _ in range(6):
        await world.parley.archive._batch()
        got = await ok(world, "alice", "get", f"/api/v1/conversations/{cid}")
        start = got["conversation"]["history_starts_at_seq"]
        assert [e["seq"] for e in got["entries"]] == list(
            range(start, got["conversation"]["last_seq"] + 1)
        )
        starts.append(start)
    assert starts == sorted(starts) and starts[0] == 2
    assert starts[-1] == got["conversation"]["last_seq"] + 1  # everything expired went
    assert await ok(world, "root", "post", SEARCH, json={"words": "note"}) == []


async def test_archive_me_says_what_each_reader_may_do_and_the_routes_agree(
    world: World,
) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    await world.add_staff("alice")
    await world.add_staff("carol")
    carol_right = f"/api/v1/admin/users/{world.user_ids['carol']}/compliance"
    await ok(world, "root", "put", carol_right, json={"compliance": True})
    assert (await ok(world, "root", "get", ADMIN))["compliance_users"] == [world.user_ids["carol"]]
    customer = {"sub": "cust-1"}
    for who, expected in {
        "root": (False, True, True, True, True),
        "sam": (False, True, False, False, False),
        "alice": (False, False, False, False, False),
        "carol": (True, True, True, False, False),
    }.items():
        got = await ok(world, who, "get", "/api/v1/archive/me")
        assert got == dict(
            zip(
                ("compliance", "search", "customer_export", "customer_delete", "policy"),
                expected,
                strict=True,
            )
        ), who
        # What it says is what the routes do.
        answers = (
            await rest(world, who, "post", SEARCH, json={"words": "x"}),
            await rest(world, who, "post", "/api/v1/archive/customers/export", json=customer),
            await rest(world, who, "post", "/api/v1/archive/customers/delete", json=customer),
            await rest(world, who, "get", ADMIN),
        )
        assert [r.status_code == 200 for r in answers] == list(expected[1:]), (who, answers)
    # Taken away: no longer listed, no longer allowed.
    await ok(world, "root", "put", carol_right, json={"compliance": False})
    assert (await ok(world, "root", "get", ADMIN))["compliance_users"] == []
    assert (await ok(world, "carol", "get", "/api/v1/archive/me"))["search"] is False
