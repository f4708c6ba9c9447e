"""Blocked words through the public API: admins set the rules; a refused message is stored
nowhere and audited; a masked one is stored masked; a warned one needs ``confirm``; every
blocked or masked message is in the audit log, which admins search."""

from __future__ import annotations

from typing import Any

import httpx
from tests.support import World

from parley.domain import wordfilter
from parley.domain.access import StaffRole
from parley.services.house_rules import PREVIOUS_MESSAGE_SECS, REFRESH_SECS

RULES = "/api/v1/admin/blocked-words"
TESTER = "/api/v1/admin/blocked-words/test"
AUDIT = "/api/v1/admin/audit"


def rule(value: str, action: str, scopes: list[str], **extra: Any) -> dict[str, Any]:
    return {"kind": "term", "value": value, "action": action, "scopes": scopes, **extra}


async def create(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await http.post(RULES, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def chat_with_agent(world: World) -> tuple[str, str]:
    """A chat Alice has accepted: (conversation id, visitor token)."""
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        offer = (await alice.expect_type("offer"))["offer"]
        ok = await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        assert ok["type"] == "ok", ok
        await alice.expect_type("conversation")
    return chat["conversation"]["id"], chat["visitor_token"]


async def messages(world: World, cid: str) -> list[str]:
    async with world.staff_http("root") as http:
        r = await http.get(f"/api/v1/conversations/{cid}")
        assert r.status_code == 200, r.text
    return [e["body"]["text"] for e in r.json()["entries"] if e["kind"] == "message"]


async def test_admins_manage_blocked_words(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    async with world.staff_http("root") as http:
        made = await create(
            http, rule("guarantee", "refuse", ["staff_to_customer"], reason="No promises")
        )
        assert made == {
            "id": made["id"],
            "kind": "term",
            "value": "guarantee",
            "action": "refuse",
            "scopes": ["staff_to_customer"],
            "reason": "No promises",
        }
        r = await http.put(
            f"{RULES}/{made['id']}",
            json=rule("guarantee*", "warn", ["staff_to_customer", "staff_im"]),
        )
        assert r.status_code == 200, r.text
        assert r.json()["value"] == "guarantee*" and r.json()["action"] == "warn"
        assert [x["value"] for x in (await http.get(RULES)).json()] == ["guarantee*"]

        r = await http.post(
            RULES, json={**rule("x", "mask", ["customer"]), "kind": "pattern", "value": "(a)\\1"}
        )
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "bad_pattern"
        assert "backreferences" in r.json()["error"]["details"]["reason"]
        for bad in (
            rule("a", "refuse", ["customer"]),
            rule("ok", "explode", ["customer"]),
            rule("ok", "refuse", []),
            rule("ok", "refuse", ["elsewhere"]),
            {**rule("ok", "refuse", ["customer"]), "kind": "pattern", "value": "x*"},
            {**rule("ok", "refuse", ["customer"]), "value": "x" * 10_000},
        ):
            r = await http.post(RULES, json=bad)
            assert r.status_code == 422, (bad, r.text)
        assert (
            await http.put(f"{RULES}/999", json=rule("ok", "mask", ["customer"]))
        ).status_code == 404
        assert (await http.delete(f"{RULES}/999")).status_code == 404

        r = await http.delete(f"{RULES}/{made['id']}")
        assert r.status_code == 204
        assert (await http.get(RULES)).json() == []
        changes = (await http.get(AUDIT, params={"action": "blocked_words"})).json()
        assert [c["action"] for c in changes] == [
            "blocked_words.deleted",
            "blocked_words.updated",
            "blocked_words.created",
        ]
        assert {c["actor"] for c in changes} == {f"staff:{world.user_ids['root']}"}
        assert changes[-1]["details"]["value"] == "guarantee"

    async with world.staff_http("sam") as http:
        for method, path in (("GET", RULES), ("POST", RULES), ("GET", AUDIT), ("POST", TESTER)):
            body = rule("x1", "mask", ["customer"]) if method == "POST" else None
            if path == TESTER:
                body = {"text": "hi", "scope": "customer"}
            r = await http.request(method, path, json=body)
            assert r.status_code == 403, (path, r.text)


async def test_a_blocked_word_is_refused_in_a_customer_chat_and_nothing_is_stored(
    world: World,
) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        made = await create(
            http,
            rule("guarantee", "refuse", ["staff_to_customer"], reason="We make no promises"),
        )
    cid, _ = await chat_with_agent(world)
    async with world.staff_http("alice") as http:
        for i, text in enumerate(["We guarantee it", "We gua\u200brantee it", "g u a r a n t e e"]):
            r = await http.post(
                f"/api/v1/conversations/{cid}/messages", json={"client_id": f"a{i}", "text": text}
            )
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert error["code"] == "blocked_word"
            assert error["details"]["rule"] == made["id"]
            assert error["details"]["reason"] == "We make no promises"
            assert error["details"]["words"] == [text.removeprefix("We ").removesuffix(" it")]
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": "ok", "text": "Delivery is guaranteed"},
        )
        assert r.status_code == 200, r.text
    assert await messages(world, cid) == ["Delivery is guaranteed"]

    async with world.staff_http("root") as http:
        audited = (await http.get(AUDIT, params={"action": "blocked_word.refused"})).json()
        assert len(audited) == 3
        last = audited[0]
        assert last["actor"] == f"staff:{world.user_ids['alice']}"
        assert last["subject"] == cid
        assert last["details"]["text"] == "g u a r a n t e e"
        assert last["details"]["scope"] == "staff_to_customer"
        assert last["details"]["rule"] == made["id"]
        by_subject = (await http.get(AUDIT, params={"subject": cid, "limit": 2})).json()
        assert [a["id"] for a in by_subject] == [a["id"] for a in audited[:2]]
        older = (await http.get(AUDIT, params={"subject": cid, "before": audited[0]["id"]})).json()
        assert [a["id"] for a in older] == [a["id"] for a in audited[1:]]


async def test_masked_words_are_stored_masked_and_audited(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        await create(http, rule("idiot", "mask", ["customer"]))
    cid, token = await chat_with_agent(world)
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": "z1", "text": "You \u0456d\u200biot!"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["body"]["text"] == "You ***!"
        # The same client id again answers with the stored entry, audited once.
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": "z1", "text": "You \u0456d\u200biot!"},
        )
        assert r.json()["body"]["text"] == "You ***!"
    # What staff write is another scope: not masked.
    async with world.staff_http("alice") as http:
        r = await http.post(
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": "a1", "text": "No idiot here"},
        )
        assert r.json()["body"]["text"] == "No idiot here"
    assert await messages(world, cid) == ["You ***!", "No idiot here"]
    async with world.staff_http("root") as http:
        (row,) = (await http.get(AUDIT, params={"action": "blocked_word"})).json()
    assert row["action"] == "blocked_word.masked"
    assert row["actor"] == f"visitor:{cid}"
    assert row["details"]["text"] == "You \u0456d\u200biot!"
    assert row["details"]["stored"] == "You ***!"


async def test_a_warning_needs_confirm_over_the_socket_and_rest(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        await create(
            http, rule("refund", "warn", ["staff_to_customer"], reason="Refunds go through billing")
        )
        made = await create(http, rule("discount", "notify", ["staff_to_customer"]))
    cid, _ = await chat_with_agent(world)
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    async with world.agent("alice") as alice:
        send = {"type": "send", "conversation_id": cid, "client_id": "w1", "text": "A refund?"}
        error = await alice.request(send)
        assert error["type"] == "error" and error["code"] == "blocked_word_warning"
        assert "Refunds go through billing" in error["message"]
        ack = await alice.request({**send, "confirm": True})
        assert ack["type"] == "ack" and ack["entry"]["body"]["text"] == "A refund?"
    async with world.staff_http("alice") as http:
        path = f"/api/v1/conversations/{cid}/messages"
        r = await http.post(path, json={"client_id": "w2", "text": "refund, then"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "blocked_word_warning"
        r = await http.post(path, json={"client_id": "w2", "text": "refund, then", "confirm": True})
        assert r.status_code == 200, r.text
    async with world.agent("sam", available=False) as sam:
        async with world.staff_http("alice") as http:
            r = await http.post(path, json={"client_id": "n1", "text": "a 10% d1scount"})
            assert r.status_code == 200 and r.json()["body"]["text"] == "a 10% d1scount"
        notice = await sam.expect_type("blocked_word")
        assert notice == {
            "type": "blocked_word",
            "conversation_id": cid,
            "actor": f"staff:{world.user_ids['alice']}",
            "scope": "staff_to_customer",
            "rules": [made["id"]],
            "words": ["d1scount"],
        }
    assert await messages(world, cid) == ["A refund?", "refund, then", "a 10% d1scount"]
    async with world.staff_http("root") as http:
        rows = (await http.get(AUDIT, params={"action": "blocked_word.notified"})).json()
    assert [r["details"]["text"] for r in rows] == ["a 10% d1scount", "refund, then", "A refund?"]


async def test_the_tester_tries_saved_or_given_rules(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        made = await create(http, rule("guarantee", "mask", ["staff_to_customer", "staff_im"]))
        r = await http.post(TESTER, json={"text": "We gu4r4ntee it", "scope": "staff_im"})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "outcome": "masked",
            "text": "We *** it",
            "rule": None,
            "hits": [
                {
                    "rule": made["id"],
                    "action": "mask",
                    "start": 3,
                    "end": 12,
                    "matched": "gu4r4ntee",
                }
            ],
            "notify": [],
        }
        r = await http.post(TESTER, json={"text": "We guarantee it", "scope": "customer"})
        assert r.json()["outcome"] == "allowed" and r.json()["hits"] == []
        tried = {
            "text": "free money",
            "scope": "customer",
            "rules": [
                {**rule("x", "refuse", ["customer"]), "kind": "pattern", "value": r"free\s+money"}
            ],
        }
        r = await http.post(TESTER, json=tried)
        assert r.json()["outcome"] == "refused" and r.json()["rule"] == 0
        r = await http.post(TESTER, json={"text": "x" * 10_001, "scope": "customer"})
        assert r.status_code == 422
        assert (await http.get(AUDIT)).json()[0]["action"] == "blocked_words.created"


async def test_a_change_made_on_another_node_applies_within_the_refresh(world: World) -> None:
    """Another node's change reaches this node's compiled rules within ``REFRESH_SECS`` (the
    other node is played by writing the rule straight into the database)."""
    service = world.parley.house_rules
    scope = wordfilter.Scope.CUSTOMER
    assert (await service.check("you idiot", scope)).outcome is wordfilter.Outcome.ALLOWED
    other = wordfilter.parse_rule(rule("idiot", "mask", ["customer"]))
    async with world.parley.db.write() as tx:
        await world.parley.stores.house_rules.insert_blocked_word(tx, other, world.clock.now())
    assert (await service.check("you idiot", scope)).outcome is wordfilter.Outcome.ALLOWED
    world.clock.advance(REFRESH_SECS)
    verdict = await service.check("you idiot", scope)
    assert verdict.outcome is wordfilter.Outcome.MASKED and verdict.text == "you ***"


async def test_dms_and_rooms_are_in_scope_staff_im(world: World) -> None:
    """Staff writing among themselves (a DM, a room) are under the ``staff_im`` rules, not the
    rules for what they write to customers."""
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("bob")
    async with world.staff_http("root") as http:
        await create(http, rule("guarantee", "refuse", ["staff_to_customer"], reason="No promises"))
        await create(http, rule("secret", "mask", ["staff_im"]))
        r = await http.post("/api/v1/im/direct", json={"user_ids": [world.user_ids["bob"]]})
        assert r.status_code in (200, 201), r.text
        dm = r.json()["id"]
        for client_id, text in (("a", "I guarantee it"), ("b", "the secret plan")):
            r = await http.post(
                f"/api/v1/conversations/{dm}/messages", json={"client_id": client_id, "text": text}
            )
            assert r.status_code == 200, r.text
        r = await http.get(f"/api/v1/im/conversations/{dm}/history")
        assert r.status_code == 200, r.text
    texts = [e["body"]["text"] for e in r.json() if e["kind"] == "message"]
    assert texts == ["I guarantee it", "the *** plan"]


async def test_a_strangers_blocked_word_reads_like_no_such_conversation_and_is_not_audited(
    world: World,
) -> None:
    """Access is checked before the words: a stranger's send to a DM answers exactly like a
    send to a conversation that does not exist, a reader who is not a participant is
    ``forbidden``, and neither leaves an audit row."""
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sam", StaffRole.SUPERVISOR, supervises=["sales"])
    await world.add_staff("bob")
    await world.add_staff("carol")
    async with world.staff_http("root") as http:
        await create(
            http, rule("guarantee", "refuse", ["staff_im", "staff_to_customer"], reason="No")
        )
    cid, _ = await chat_with_agent(world)  # alice's
    async with world.staff_http("alice") as http:
        r = await http.post("/api/v1/im/direct", json={"user_ids": [world.user_ids["carol"]]})
        assert r.status_code in (200, 201), r.text
        dm = r.json()["id"]
    body = {"client_id": "x1", "text": "I guarantee it"}
    async with world.staff_http("bob") as http:
        stranger = await http.post(f"/api/v1/conversations/{dm}/messages", json=body)
        missing = await http.post(f"/api/v1/conversations/{'0' * 32}/messages", json=body)
    assert stranger.status_code == missing.status_code == 404
    assert (
        stranger.json()
        == missing.json()
        == {"error": {"code": "not_found", "message": "no such conversation"}}
    )
    async with world.agent("bob", available=False) as bob:
        frames = [
            await bob.request({"type": "send", "conversation_id": c, **body})
            for c in (dm, "0" * 32)
        ]
    assert [(f["code"], f["message"]) for f in frames] == [
        ("not_found", "no such conversation")
    ] * 2
    # A supervisor reads the customer chat but does not take part in it.
    async with world.staff_http("sam") as http:
        r = await http.post(f"/api/v1/conversations/{cid}/messages", json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    async with world.staff_http("root") as http:
        assert (await http.get(AUDIT, params={"action": "blocked_word.refused"})).json() == []
    # A participant's refusal is what the audit log keeps.
    async with world.staff_http("alice") as http:
        r = await http.post(f"/api/v1/conversations/{dm}/messages", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "blocked_word"
    async with world.staff_http("root") as http:
        audited = (await http.get(AUDIT, params={"action": "blocked_word.refused"})).json()
    assert [a["actor"] for a in audited] == [f"staff:{world.user_ids['alice']}"]


async def test_a_term_split_over_two_messages_of_one_sender_is_refused(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        made = await create(http, rule("guarantee", "refuse", ["staff_to_customer", "customer"]))
    cid, token = await chat_with_agent(world)
    send = f"/api/v1/conversations/{cid}/messages"
    async with world.staff_http("alice") as http:
        r = await http.post(send, json={"client_id": "a1", "text": "We guaran"})
        assert r.status_code == 200, r.text
        r = await http.post(send, json={"client_id": "a2", "text": "tee it"})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "blocked_word"
        assert error["details"]["rule"] == made["id"]
        assert error["details"]["words"] == ["tee"]
        # Someone else's message in between changes nothing: it is the sender's previous one.
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        r = await http.post(send, json={"client_id": "v1", "text": "tee"})
        assert r.status_code == 200, r.text  # the visitor wrote no "guaran"
    async with world.staff_http("alice") as http:
        r = await http.post(send, json={"client_id": "a3", "text": "tee"})
        assert r.status_code == 422, r.text
        # More than a minute later, the two are two messages.
        world.clock.advance(PREVIOUS_MESSAGE_SECS + 1)
        r = await http.post(send, json={"client_id": "a4", "text": "tee"})
        assert r.status_code == 200, r.text
        r = await http.post(send, json={"client_id": "a5", "text": "guar"})
        assert r.status_code == 200, r.text
        r = await http.post(send, json={"client_id": "a6", "text": "antee"})
        assert r.status_code == 422, r.text
    assert await messages(world, cid) == ["We guaran", "tee", "tee", "guar"]
    async with world.staff_http("root") as http:
        audited = (await http.get(AUDIT, params={"action": "blocked_word.refused"})).json()
    assert [a["details"]["text"] for a in audited] == ["antee", "tee", "tee it"]
