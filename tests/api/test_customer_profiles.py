"""Customer profiles (issue 12): one per verified customer or browser, never by a typed email;
staff notes that persist across chats and never reach the visitor; tags; the reader's
conversations only; edits audited. Through the public API on both backends."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from tests.api.test_identity import MISSING, NO_SUCH, taken
from tests.identity import new_key, sign
from tests.support import World

from parley.domain import profiles as policy
from parley.domain.access import StaffRole
from parley.domain.identity import Link
from parley.storage.audit import AuditQuery
from parley.storage.tables import customer_notes, customer_profiles


async def profile(world: World, who: str, cid: str) -> dict[str, Any]:
    async with world.staff_http(who) as http:
        r = await http.get(f"/api/v1/conversations/{cid}/profile")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def patch(world: World, who: str, cid: str, **body: Any) -> Any:
    async with world.staff_http(who) as http:
        return await http.patch(f"/api/v1/conversations/{cid}/profile", json=body)


async def note(world: World, who: str, cid: str, text: str) -> Any:
    async with world.staff_http(who) as http:
        return await http.post(f"/api/v1/conversations/{cid}/profile/notes", json={"text": text})


async def end(world: World, who: str, cid: str) -> None:
    async with world.staff_http(who) as http:
        r = await http.post(f"/api/v1/conversations/{cid}/end")
    assert r.status_code == 204, r.text


async def test_a_typed_email_never_merges_profiles(world: World) -> None:
    """Two browsers that typed the same address are two customers: a note on one is not on
    the other, and staff writing the same email on both merges nothing."""
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        first = await taken(world, alice, email="same@example.com")
        second = await taken(world, alice, email="same@example.com")
    assert (await note(world, "alice", first, "prefers phone calls")).status_code == 201
    r = await patch(world, "alice", first, email="same@example.com", company="Acme")
    assert r.status_code == 200, r.text
    r = await patch(world, "alice", second, email="same@example.com")
    assert r.status_code == 200, r.text
    one, two = await profile(world, "alice", first), await profile(world, "alice", second)
    assert [n["text"] for n in one["notes"]] == ["prefers phone calls"]
    assert two["notes"] == [] and two["company"] == ""
    assert [c["id"] for c in one["conversations"]] == [first]  # one chat each
    assert [c["id"] for c in two["conversations"]] == [second]
    assert one["key"] == two["key"] == "browser"
    assert one["typed_email"] == "same@example.com"


async def test_one_browser_and_one_verified_customer_each_keep_one_profile(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    key = await new_key(world)
    async with world.agent("alice") as alice:
        chat = await world.open_chat(email="a@example.com")
        browser = chat["visitor_id"]
        offer = await alice.expect_type("offer")
        await alice.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
        first = chat["conversation"]["id"]
        world.clock.advance(1)  # newest first: not at the same instant
        again = await taken(world, alice, visitor_id=browser, email="b@example.com")
        await end(world, "alice", first)
        await end(world, "alice", again)  # sales takes two chats at a time
        token = sign(world, key, "cust-7", email="v@shop.example", name="Vera")
        verified = await taken(world, alice, identity=token, fields={"plan": "pro"})
        token2 = sign(world, key, "cust-7", email="v@shop.example", name="Vera")
        verified_again = await taken(world, alice, identity=token2)
    await note(world, "alice", first, "asked about invoices")
    seen = await profile(world, "alice", again)
    assert [n["text"] for n in seen["notes"]] == ["asked about invoices"]
    assert [c["id"] for c in seen["conversations"]] == [again, first]
    await patch(world, "alice", verified, name="Vera Berg", tags=["vip", "VIP", "b2b"])
    later = await profile(world, "alice", verified_again)
    assert later["key"] == "verified" and later["name"] == "Vera Berg"
    assert later["tags"] == ["vip", "b2b"]  # duplicates without case dropped
    assert later["verified"] == {"sub": "cust-7", "name": "Vera", "email": "v@shop.example"}
    assert later["notes"] == []  # the browser's profile is another customer's record
    assert {c["id"] for c in later["conversations"]} == {verified, verified_again}
    assert later["fields"] == {"plan": "pro"}  # the newest chat that sent any


async def test_notes_never_reach_the_visitor(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        offer = await alice.expect_type("offer")
        await alice.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
        assert (await note(world, "alice", cid, "SECRET-NOTE owes 40 EUR")).status_code == 201
        await patch(world, "alice", cid, tags=["SECRET-TAG"])
        visitor = {"X-Visitor-Token": chat["visitor_token"]}
        async with world.node.http(headers=visitor) as http:
            for method, path in (
                ("GET", f"/api/v1/conversations/{cid}/profile"),
                ("PATCH", f"/api/v1/conversations/{cid}/profile"),
                ("POST", f"/api/v1/conversations/{cid}/profile/notes"),
            ):
                r = await http.request(method, path, json={"text": "x"})
                assert r.status_code in (401, 403, 404), (path, r.text)
                assert "SECRET" not in r.text
            for path in (f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/entries"):
                r = await http.get(path)
                assert r.status_code == 200 and "SECRET" not in r.text
        async with world.visitor(chat["visitor_token"]) as ws:
            assert not any("SECRET" in str(m) for m in ws.received)


async def test_not_yours_reads_as_missing_and_lists_only_what_you_may_read(world: World) -> None:
    await world.add_workgroup("support")
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["support"])
    await world.add_staff("sue", StaffRole.SUPERVISOR, supervises=["sales", "support"])
    async with world.agent("bob") as bob:
        chat = await world.open_chat("support")
        browser = chat["visitor_id"]
        offer = await bob.expect_type("offer")
        await bob.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
        theirs = chat["conversation"]["id"]
    assert (await note(world, "bob", theirs, "bob's note")).status_code == 201
    async with world.agent("alice") as alice:
        mine = await taken(world, alice, visitor_id=browser)
    async with world.staff_http("alice") as http:
        for method in ("GET", "PATCH"):
            r = await http.request(method, f"/api/v1/conversations/{theirs}/profile", json={})
            gone = await http.request(method, f"/api/v1/conversations/{MISSING}/profile", json={})
            assert (r.status_code, r.json()) == (gone.status_code, gone.json()) == (404, NO_SUCH)
    # Alice reads her chat's customer: the notes, and only the conversations she may read.
    seen = await profile(world, "alice", mine)
    assert [c["id"] for c in seen["conversations"]] == [mine]
    assert [n["text"] for n in seen["notes"]] == ["bob's note"]
    assert {c["id"] for c in (await profile(world, "sue", mine))["conversations"]} == {
        mine,
        theirs,
    }
    # A note goes with its author or a supervisor.
    note_id = seen["notes"][0]["id"]
    async with world.staff_http("alice") as http:
        r = await http.delete(f"/api/v1/conversations/{mine}/profile/notes/{note_id}")
        assert r.status_code == 403, r.text
        r = await http.delete(f"/api/v1/conversations/{mine}/profile/notes/999999")
        assert r.status_code == 404, r.text
    async with world.staff_http("sue") as http:
        r = await http.delete(f"/api/v1/conversations/{mine}/profile/notes/{note_id}")
        assert r.status_code == 204, r.text
    assert (await profile(world, "bob", theirs))["notes"] == []


async def test_bad_input_is_refused_and_stores_nothing(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid = await taken(world, alice)
    for body, code in (
        ({"name": "x" * (policy.MAX_NAME_CHARS + 1)}, "too_long"),
        ({"company": "Acme\r\nBcc: eve@evil.example"}, "invalid_input"),
        ({"email": "not an address"}, "invalid_input"),
        ({"tags": [""]}, "invalid_input"),
        ({"tags": ["t" * (policy.MAX_TAG_CHARS + 1)]}, "too_long"),
        ({"tags": [f"t{i}" for i in range(policy.MAX_TAGS + 1)]}, "too_long"),
        ({"name": "ok", "email": "bad"}, "invalid_input"),
    ):
        r = await patch(world, "alice", cid, **body)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (body, r.text)
    for text, code in (("   ", "invalid_input"), ("n" * (policy.MAX_NOTE_CHARS + 1), "too_long")):
        r = await note(world, "alice", cid, text)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    seen = await profile(world, "alice", cid)
    assert seen["stored"] is False and seen["name"] == "" and seen["notes"] == []


async def test_edits_are_audited(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid = await taken(world, alice)
    await patch(world, "alice", cid, company="Acme", tags=["vip"])
    n = (await note(world, "alice", cid, "call back Monday")).json()
    assert n["author_name"] == "Alice"
    async with world.staff_http("alice") as http:
        r = await http.delete(f"/api/v1/conversations/{cid}/profile/notes/{n['id']}")
        assert r.status_code == 204
    async with world.parley.db.read() as tx:
        rows = await world.parley.stores.audit.search(tx, AuditQuery(limit=100))
    actions = [r.action for r in rows if r.subject.startswith("customer:")]
    assert sorted(actions) == ["customer.note_added", "customer.note_deleted", "customer.updated"]
    updated = next(r for r in rows if r.action == "customer.updated")
    assert updated.actor == f"staff:{world.user_ids['alice']}"
    assert updated.details == {"company": "Acme", "tags": ["vip"]}


async def test_the_customers_data_export_and_deletion_include_the_profile(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("root", StaffRole.ADMIN)
    key = await new_key(world)
    async with world.agent("alice") as alice:
        cid = await taken(world, alice, identity=sign(world, key, "cust-9"))
        await end(world, "alice", cid)
    await note(world, "alice", cid, "wants invoices by post")
    await patch(world, "alice", cid, company="Acme")
    async with world.staff_http("root") as http:
        r = await http.post("/api/v1/archive/customers/export", json={"sub": "cust-9"})
        assert r.status_code == 200, r.text
        exported = r.json()["profile"]
        assert exported["company"] == "Acme"
        assert [n["text"] for n in exported["notes"]] == ["wants invoices by post"]
        r = await http.post("/api/v1/archive/customers/delete", json={"sub": "cust-9"})
        assert r.status_code == 200, r.text
        r = await http.post("/api/v1/archive/customers/export", json={"sub": "cust-9"})
        assert r.json()["profile"] is None
    async with world.parley.db.read() as tx:
        assert await world.parley.stores.profiles.profile(tx, Link("sub", "cust-9")) is None


async def test_a_browsers_profile_goes_with_its_last_chat(world: World) -> None:
    """The retention job removes an anonymous browser's profile (and its notes) with the last
    chat that names the browser; a verified customer's stays (it goes with an admin's
    deletion of the customer only)."""
    world.parley.maintenance.sweeps.remove(world.parley.archive.sweep)
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("root", StaffRole.ADMIN)
    key = await new_key(world, "sales")
    async with world.agent("alice") as alice:
        anonymous = await taken(world, alice)
        verified = await taken(world, alice, identity=sign(world, key, "zoe"))
    for cid in (anonymous, verified):
        assert (await note(world, "alice", cid, "call back on Monday")).status_code == 201
        await end(world, "alice", cid)
    async with world.staff_http("root") as http:
        r = await http.put("/api/v1/admin/archive", json={"keep_days": {"customer_chat": 1}})
        assert r.status_code == 200, r.text
    world.clock.advance(2 * 86_400)
    await world.parley.archive.sweep()
    stores = world.parley.stores
    async with world.parley.db.read() as tx:
        kept = await stores.profiles.profile(tx, Link("sub", "zoe"))
        assert kept is not None and [n.text for n in await stores.profiles.notes(tx, kept.id)]
        rows = await tx.all(sa.select(customer_profiles.c.link_kind))
        notes = await tx.all(sa.select(customer_notes.c.profile_id))
    assert [r.link_kind for r in rows] == ["sub"]
    assert {n.profile_id for n in notes} == {kept.id}
