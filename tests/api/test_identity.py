"""Verified customer identity, anonymous visitor ids, and history only through a trustworthy
link (issue 8, finding 1), through the public API on both backends."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
from tests.identity import Key, new_key, sign
from tests.support import World, WsClient

from parley.domain.access import StaffRole

NO_SUCH = {"error": {"code": "not_found", "message": "no such conversation"}}
MISSING = "f" * 32


async def taken(world: World, agent: WsClient, slug: str = "sales", **form: Any) -> str:
    """A chat opened in ``slug`` and accepted by ``agent``; returns its id."""
    chat = await world.open_chat(slug, **form)
    cid = str(chat["conversation"]["id"])
    offer = await agent.expect(
        lambda m: m["type"] == "offer" and m["offer"]["conversation_id"] == cid
    )
    reply = await agent.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
    assert reply["type"] == "ok", reply
    return cid


async def history(world: World, who: str, cid: str) -> list[str]:
    async with world.staff_http(who) as http:
        r = await http.get(f"/api/v1/conversations/{cid}/customer")
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()]


async def chats_opened(world: World) -> int:
    async with world.parley.db.read() as tx:
        return len(await world.parley.stores.conversations.conversations_of(tx, None, limit=1000))


async def refused(world: World, slug: str = "sales", **form: Any) -> dict[str, Any]:
    before = await chats_opened(world)
    async with world.node.http() as http:
        r = await http.post(f"/api/v1/workgroups/{slug}/chats", json={"name": "Zoe", **form})
    assert r.status_code == 401, r.text
    assert await chats_opened(world) == before  # nothing was queued
    return dict(r.json()["error"])


# The attack from the issue ---------------------------------------------------------------------


async def test_a_typed_email_reads_nobody_elses_chats(world: World) -> None:
    """Alice (sales) opens a chat herself with the victim's email, accepts it, and tries the
    victim's chat in support, which Bob took and wrote a private note in: she gets nothing,
    and every refusal reads exactly like a conversation that does not exist."""
    await world.add_workgroup("support")
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["support"])
    async with world.agent("bob") as bob:
        victim = await taken(world, bob, "support", email="victim@example.com", question="IBAN?")
        note = await bob.request(
            {
                "type": "send",
                "conversation_id": victim,
                "client_id": "n1",
                "text": "card ends 4242",
                "private": True,
            }
        )
        assert note["type"] == "ack"
    async with world.agent("alice") as alice:
        mine = await taken(world, alice, email="victim@example.com")
        assert await history(world, "alice", mine) == []
        async with world.staff_http("alice") as http:
            for path in (
                f"/{mine}/customer/{victim}",
                f"/{victim}",
                f"/{victim}/entries",
                f"/{victim}/customer",
                f"/{victim}/customer/{mine}",
            ):
                r = await http.get(f"/api/v1/conversations{path}")
                gone = await http.get(f"/api/v1/conversations{path.replace(victim, MISSING)}")
                assert (r.status_code, r.json()) == (404, NO_SUCH), path
                assert (gone.status_code, gone.json()) == (404, NO_SUCH), path
                assert "4242" not in r.text
    # Resuming with a cursor for it: the same refusal as for a conversation that is not there.
    async with world.agent("alice", cursors={victim: 0, MISSING: 0}) as again:
        errors = {m["conversation_id"]: m for m in again.received if m["type"] == "error"}
        assert {k: (e["code"], e["message"]) for k, e in errors.items()} == {
            victim: ("not_found", "no such conversation"),
            MISSING: ("not_found", "no such conversation"),
        }
        assert not again.entries(victim)


# Verified identity -----------------------------------------------------------------------------


async def test_a_verified_customer_is_shown_as_verified(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    key = await new_key(world)
    token = sign(world, key, "cust-42", email="zoe@shop.example", name="Zoe Verified")
    opened = await world.open_chat(name="Z", email="typed@example.com", identity=token)
    assert opened["conversation"]["verified"] is True  # the visitor sees it too
    vid = opened["conversation"]["id"]
    async with world.agent("alice") as alice:
        offer = await alice.expect_type("offer")
        assert offer["offer"]["verified"] is True
        await alice.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
        cid = await taken(world, alice, email="x@example.com")  # an anonymous one
        anonymous_offer = next(
            m["offer"]
            for m in alice.received
            if m["type"] == "offer" and m["offer"]["conversation_id"] == cid
        )
        assert anonymous_offer["verified"] is False
    async with world.staff_http("alice") as http:
        verified = (await http.get(f"/api/v1/conversations/{vid}")).json()
        anonymous = (await http.get(f"/api/v1/conversations/{cid}")).json()
    conv = verified["conversation"]
    assert conv["verified"] is True
    assert conv["customer"] == {
        "sub": "cust-42",
        "email": "zoe@shop.example",
        "name": "Zoe Verified",
    }
    # What the visitor typed is kept as typed, and is not the identity.
    assert conv["metadata"]["email"] == "typed@example.com"
    assert conv["metadata"]["name"] == "Z"
    assert anonymous["conversation"]["verified"] is False
    assert anonymous["conversation"]["customer"] is None


async def test_history_links_by_verified_sub_across_workgroups_for_who_may_read(
    world: World,
) -> None:
    await world.add_workgroup("support")
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["support"])
    await world.add_staff("carl", workgroups=["sales", "support"])
    await world.add_staff("sam", StaffRole.SUPERVISOR, supervises=["sales", "support"])
    sales, support = await new_key(world, "sales"), await new_key(world, "support")
    async with world.agent("bob") as bob:
        in_support = await taken(world, bob, "support", identity=sign(world, support, "zoe"))
        await bob.request({"type": "end", "conversation_id": in_support})
    world.clock.advance(1)
    async with world.agent("alice") as alice:
        earlier = await taken(world, alice, identity=sign(world, sales, "zoe"))
        await alice.request({"type": "end", "conversation_id": earlier})
        world.clock.advance(1)
        someone_else = await taken(world, alice, identity=sign(world, sales, "eve"))
        world.clock.advance(1)
        now = await taken(world, alice, identity=sign(world, sales, "zoe"))
    # Alice reads her workgroup's earlier chat, not support's (she may not read that anyway).
    assert await history(world, "alice", now) == [earlier]
    async with world.staff_http("alice") as http:
        r = await http.get(f"/api/v1/conversations/{now}/customer/{in_support}")
        assert (r.status_code, r.json()) == (404, NO_SUCH)
        r = await http.get(f"/api/v1/conversations/{now}/customer/{someone_else}")
        assert (r.status_code, r.json()) == (404, NO_SUCH)
        r = await http.get(f"/api/v1/conversations/{now}/customer/{earlier}")
        assert r.status_code == 200, r.text
        assert r.json()["conversation"]["customer"]["sub"] == "zoe"
    # A member of both workgroups, and a supervisor, see both, newest first.
    assert await history(world, "carl", now) == [earlier, in_support]
    assert await history(world, "sam", now) == [earlier, in_support]
    # Bob cannot even read Alice's chat: its history is "not found" for him.
    async with world.staff_http("bob") as http:
        r = await http.get(f"/api/v1/conversations/{now}/customer")
    assert (r.status_code, r.json()) == (404, NO_SUCH)


async def test_identity_required_refuses_unsigned_chats(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        wg = (await http.get("/api/v1/admin/workgroups")).json()[0]
        body = {k: wg[k] for k in ("name", "offer_timeout_secs", "wait_timeout_secs", "max_chats")}
        r = await http.put("/api/v1/admin/workgroups/sales", json={**body, "identity": "required"})
        assert r.status_code == 200, r.text
        assert r.json()["identity"] == "required"
        r = await http.put("/api/v1/admin/workgroups/sales", json={**body, "identity": "maybe"})
        assert r.status_code == 422
    async with world.node.http() as http:
        status = (await http.get("/api/v1/workgroups/sales/status")).json()
    assert status["identity"] == "required"
    error = await refused(world, email="zoe@example.com")
    assert error["code"] == "identity_required"
    assert "signed" in error["message"]
    # A valid token is let in; a bad one is still invalid_identity, not identity_required.
    key = await new_key(world)
    chat = await world.open_chat(identity=sign(world, key))
    assert chat["conversation"]["verified"] is True
    assert (await refused(world, identity="nope"))["code"] == "invalid_identity"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_bad_identity_tokens_are_refused_not_taken_as_anonymous(world: World) -> None:
    await world.add_workgroup("support")
    key = await new_key(world)
    foreign = await new_key(world, "support")
    exp = int(world.clock.now().timestamp()) + 600
    stranger = Key(key.kid, "another-secret-of-at-least-32-bytes-long!")
    header_none = _b64({"alg": "none", "kid": key.kid, "typ": "JWT"})
    payload = _b64({"sub": "eve", "exp": exp})
    bad = {
        "wrong key": sign(world, stranger, "eve"),
        "unknown kid": sign(world, Key("nope", key.secret), "eve"),
        "another workgroup's key": sign(world, foreign, "eve"),
        "expired": sign(world, key, "eve", expires_in=-120),
        "alg none": jwt.encode(
            {"sub": "eve", "exp": exp}, None, algorithm="none", headers={"kid": key.kid}
        ),
        "alg none, hand-made": f"{header_none}.{payload}.",
        "HS256 without a signature": f"{_b64({'alg': 'HS256', 'kid': key.kid})}.{payload}.",
        "HS512": sign(world, Key(key.kid, key.secret * 2), "eve", algorithm="HS512"),
        "HS384": sign(world, Key(key.kid, key.secret * 2), "eve", algorithm="HS384"),
        "missing exp": jwt.encode(
            {"sub": "eve"}, key.secret, algorithm="HS256", headers={"kid": key.kid}
        ),
        "missing sub": jwt.encode(
            {"exp": exp}, key.secret, algorithm="HS256", headers={"kid": key.kid}
        ),
        "no kid": jwt.encode({"sub": "eve", "exp": exp}, key.secret, algorithm="HS256"),
        "garbage": "not.a.jwt",
        "empty": "",
        "too long": sign(world, key, "eve", padding="x" * 5000),
    }
    for what, token in bad.items():
        error = await refused(world, identity=token)
        assert error["code"] == "invalid_identity", (what, error)
    # Within the leeway an expired token still passes (clocks differ a little).
    chat = await world.open_chat(identity=sign(world, key, "zoe", expires_in=-10))
    assert chat["conversation"]["customer"]["sub"] == "zoe"


async def test_identity_keys_rotate(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice", workgroups=["sales"])
    url = "/api/v1/admin/workgroups/sales/identity-keys"
    async with world.staff_http("root") as http:
        assert (await http.get(url)).json() == []
        r = await http.post(url)
        assert r.status_code == 201, r.text
        assert r.headers["cache-control"] == "no-store"
        old = r.json()
        assert old["algorithm"] == "HS256" and len(old["secret"]) >= 43
        new = (await http.post(url)).json()
        assert new["kid"] != old["kid"] and new["secret"] != old["secret"]
        listed = (await http.get(url)).json()
        # Listed by kid; the secret is never shown again.
        assert [k["kid"] for k in listed] == [old["kid"], new["kid"]]
        assert all(set(k) == {"kid", "created_at"} for k in listed)
        assert old["secret"] not in (await http.get(url)).text
    old_key, new_key_ = Key(old["kid"], old["secret"]), Key(new["kid"], new["secret"])
    # Both verify during the rotation...
    for key in (old_key, new_key_):
        assert (await world.open_chat(identity=sign(world, key)))["conversation"]["verified"]
    async with world.staff_http("root") as http:
        r = await http.delete(f"{url}/{old['kid']}")
        assert r.status_code == 204, r.text
        r = await http.delete(f"{url}/{old['kid']}")
        assert r.status_code == 404
        assert [k["kid"] for k in (await http.get(url)).json()] == [new["kid"]]
        r = await http.get("/api/v1/admin/workgroups/nope/identity-keys")
        assert r.status_code == 404
    # ...and the deleted one stops at once.
    assert (await refused(world, identity=sign(world, old_key)))["code"] == "invalid_identity"
    assert (await world.open_chat(identity=sign(world, new_key_)))["conversation"]["verified"]
    # Keys are for admins.
    async with world.staff_http("alice") as http:
        for method in ("GET", "POST"):
            assert (await http.request(method, url)).status_code == 403
        assert (await http.delete(f"{url}/{new['kid']}")).status_code == 403
    async with world.node.http() as anonymous:
        assert (await anonymous.get(url)).status_code == 401


# The same browser ------------------------------------------------------------------------------


async def test_anonymous_chats_link_only_by_the_signed_visitor_id(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        first = await world.open_chat(email="zoe@example.com")
        fid = first["conversation"]["id"]
        offer = await alice.expect_type("offer")
        await alice.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
        await alice.request({"type": "end", "conversation_id": fid})
        browser = first["visitor_id"]
        assert browser
        world.clock.advance(1)
        # Same browser: linked. The same typed email from another browser: not.
        same = await taken(world, alice, visitor_id=browser)
        other = await taken(world, alice, email="zoe@example.com")
        assert await history(world, "alice", same) == [fid]
        assert await history(world, "alice", other) == []
        # The id is signed again with each chat; the new one links to both.
        async with world.staff_http("alice") as http:
            r = await http.get(f"/api/v1/conversations/{same}")
        assert "visitor_id" not in r.json()["conversation"]  # agents never see the id
        await alice.request({"type": "end", "conversation_id": same})
        await alice.request({"type": "end", "conversation_id": other})


async def test_a_forged_visitor_id_is_ignored(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        first = await world.open_chat()
        fid = first["conversation"]["id"]
        offer = await alice.expect_type("offer")
        await alice.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
        await alice.request({"type": "end", "conversation_id": fid})
        real = first["visitor_id"]
        payload, _, signature = real.rpartition(".")
        forged = [
            f"{payload}.{'A' * len(signature)}",  # a bad signature
            payload,  # unsigned
            first["visitor_token"],  # signed, but something else
            "anything at all",
            "x" * 1000,
        ]
        for fake in forged:
            chat = await world.open_chat(visitor_id=fake)
            assert chat["visitor_id"] not in (fake, real)
            cid = chat["conversation"]["id"]
            got = await alice.expect(
                lambda m, c=cid: m["type"] == "offer" and m["offer"]["conversation_id"] == c
            )
            await alice.request({"type": "accept_offer", "offer_id": got["offer"]["offer_id"]})
            assert await history(world, "alice", cid) == []
            await alice.request({"type": "end", "conversation_id": cid})
        async with world.node.http() as http:
            r = await http.post(
                "/api/v1/workgroups/sales/chats", json={"name": "Z", "visitor_id": "x" * 1025}
            )
        assert r.status_code == 422
