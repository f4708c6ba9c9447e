"""Canned responses through the public API, on both backends: who keeps and who reads them
(an agent of another workgroup reads them like ones that do not exist), bad input, the ``/``
search and the insertion into a chat with the customer's name filled in (usage counted), the
message templates beside them, and the workgroup's automatic greeting on accept."""

from __future__ import annotations

from typing import Any

import httpx
from tests.support import World

from parley.domain.access import StaffRole
from parley.domain.forms import FormField

CANNED = "/api/v1/canned"


async def _team(world: World) -> None:
    """sales (the fixture's) and support; an admin, a supervisor of sales, an agent of each."""
    await world.add_workgroup("support")
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sue", StaffRole.SUPERVISOR, workgroups=["sales"])
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["support"])
    # Supervises support without being a member of it; a member of no workgroup.
    await world.add_staff("tess", StaffRole.SUPERVISOR, supervises=["support"])


async def _create(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await http.post(CANNED, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


REFUND = {
    "scope": "workgroup",
    "workgroup": "sales",
    "shortcut": "refund",
    "title": "Refund policy",
    "text": "Hi {customer.first_name|there}, refunds take 30 days. {agent.name}, {workgroup.name}",
    "category": "Billing",
}


async def test_who_keeps_and_who_reads_canned_responses(world: World) -> None:
    await _team(world)
    async with world.staff_http("sue") as sue:
        refund = await _create(sue, **REFUND)
    assert refund == {
        "id": refund["id"],
        "scope": "workgroup",
        "workgroup": "sales",
        "shortcut": "refund",
        "title": "Refund policy",
        "text": REFUND["text"],
        "category": "Billing",
        "uses": 0,
        "editable": True,
    }
    async with world.staff_http("alice") as alice:
        # An agent uses the workgroup's responses but does not keep them.
        r = await alice.post(CANNED, json={**REFUND, "shortcut": "other"})
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
        r = await alice.put(f"{CANNED}/{refund['id']}", json=REFUND)
        assert r.status_code == 422  # scope is not a field of an update
        body = {k: REFUND[k] for k in ("shortcut", "title", "text", "category")}
        assert (await alice.put(f"{CANNED}/{refund['id']}", json=body)).status_code == 403
        assert (await alice.delete(f"{CANNED}/{refund['id']}")).status_code == 403
        seen = (await alice.get(f"{CANNED}/{refund['id']}")).json()
        assert seen["editable"] is False
        mine = await _create(
            alice, scope="personal", shortcut="bye", title="Bye", text="Cheers, {agent.first_name}"
        )
        assert (mine["workgroup"], mine["editable"]) == (None, True)
        listed = (await alice.get(CANNED)).json()
        assert sorted(c["shortcut"] for c in listed) == ["bye", "refund"]
        assert [
            c["shortcut"] for c in (await alice.get(CANNED, params={"scope": "personal"})).json()
        ] == ["bye"]
        # A personal one's shortcut may repeat a shared one's.
        await _create(alice, scope="personal", shortcut="refund", title="Mine", text="x")
        # Editing one's own.
        r = await alice.put(
            f"{CANNED}/{mine['id']}", json={"shortcut": "bye", "title": "Bye!", "text": "Cheers"}
        )
        assert r.json()["title"] == "Bye!"

    missing = None
    async with world.staff_http("bob") as bob:
        missing = await bob.get(f"{CANNED}/99999")
        assert missing.status_code == 404
        # Another workgroup's, and a colleague's personal one: exactly like none at all.
        for cid in (refund["id"], mine["id"]):
            r = await bob.get(f"{CANNED}/{cid}")
            assert (r.status_code, r.json()) == (404, missing.json())
            assert (await bob.put(f"{CANNED}/{cid}", json=body)).json() == missing.json()
            assert (await bob.delete(f"{CANNED}/{cid}")).json() == missing.json()
        assert (await bob.get(CANNED)).json() == []
        r = await bob.get(CANNED, params={"workgroup": "sales"})
        assert (r.status_code, r.json()["error"]["message"]) == (404, "no such workgroup")
        r = await bob.post(CANNED, json={**REFUND, "shortcut": "x"})
        assert (r.status_code, r.json()["error"]["message"]) == (404, "no such workgroup")
        assert (await bob.get(f"{CANNED}/search", params={"q": "refund"})).json() == []

    async with world.staff_http("tess") as tess:
        # A supervisor keeps the workgroups they supervise, and not the others.
        await _create(tess, **{**REFUND, "workgroup": "support"})
        r = await tess.post(CANNED, json={**REFUND, "shortcut": "x"})
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")

    async with world.staff_http("root") as root:
        # Admins keep every workgroup's, and still do not see anyone's personal ones.
        assert (await root.get(f"{CANNED}/{mine['id']}")).json() == missing.json()
        assert (await root.delete(f"{CANNED}/{refund['id']}")).status_code == 204
        audited = (await root.get("/api/v1/admin/audit", params={"action": "canned"})).json()
    assert [a["action"] for a in audited] == ["canned.deleted", "canned.created", "canned.created"]
    assert audited[0]["subject"] == f"canned:{refund['id']}"


async def test_bad_canned_responses_get_clear_errors(world: World) -> None:
    await world.add_workgroup("shop", form_fields=(FormField("order", "Order number", False),))
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        base = {"scope": "workgroup", "workgroup": "shop", "shortcut": "ok", "title": "t"}
        cases = [
            ({"text": "Hi {customer.nmae}"}, "unknown placeholder {customer.nmae}"),
            ({"text": "Hi {customer.name"}, "opens no placeholder"),
            ({"text": "Order {field.plan}"}, "no field 'plan'"),
            ({"text": "x", "title": "t" * 10_000}, "title is 1 to 80"),
            ({"text": "x" * 2001}, "text is 1 to 2000"),
            ({"text": "x", "shortcut": "two words"}, "a shortcut is"),
            ({"text": "x", "category": "two\nlines"}, "one line"),
        ]
        for change, message in cases:
            r = await http.post(CANNED, json={**base, **change})
            assert r.status_code == 422, (change, r.text)
            assert r.json()["error"]["code"] == "invalid_input"
            assert message in r.json()["error"]["message"], (change, r.text)
        r = await http.post(CANNED, json={**base, "text": "x", "title": "t" * 10_001})
        assert r.status_code == 422  # over the schema's loose bound
        made = await _create(http, **base, text="Your order {field.order|number}")
        r = await http.post(CANNED, json={**base, "text": "again"})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")
        r = await http.post(CANNED, json={**base, "workgroup": None, "text": "x"})
        assert r.status_code == 422
        r = await http.post(CANNED, json={**base, "scope": "personal", "text": "x"})
        assert r.status_code == 422  # a personal one names no workgroup
        r = await http.post(
            "/api/v1/admin/blocked-words",
            json={
                "kind": "term",
                "value": "guarantee",
                "action": "refuse",
                "scopes": ["staff_to_customer"],
            },
        )
        assert r.status_code == 201, r.text
        r = await http.put(
            f"{CANNED}/{made['id']}",
            json={"shortcut": "ok", "title": "t", "text": "We guarantee it"},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "blocked_word")
        assert (await http.get(f"{CANNED}/2147483648")).status_code == 422


async def _accepted_chat(world: World, agent: str, **form: Any) -> tuple[str, dict[str, Any]]:
    chat = await world.open_chat(**form)
    cid = chat["conversation"]["id"]
    async with world.agent(agent) as ws:
        offer = (await ws.expect_type("offer"))["offer"]
        reply = await ws.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        assert reply["type"] == "ok", reply
    return cid, chat


async def test_slash_search_and_insertion_with_the_customers_name(world: World) -> None:
    await _team(world)
    async with world.staff_http("sue") as sue:
        refund = await _create(sue, **REFUND)
        await _create(
            sue, **{**REFUND, "shortcut": "shipping", "title": "Shipping", "text": "2-4 days"}
        )
    async with world.staff_http("root") as root:
        r = await root.post(
            "/api/v1/admin/templates",
            json={
                "title": "Welcome",
                "text": "Welcome, {customer.name|friend}!",
                "kind": "greeting",
            },
        )
        assert r.status_code == 201, r.text
        template = r.json()
    cid, _ = await _accepted_chat(world, "alice", name="Dana Scully", question="Refund please")
    async with world.staff_http("alice") as alice:
        found = (
            await alice.get(f"{CANNED}/search", params={"q": "ref", "conversation_id": cid})
        ).json()
        assert [(s["kind"], s["shortcut"]) for s in found][:1] == [("canned", "refund")]
        typo = (
            await alice.get(f"{CANNED}/search", params={"q": "rfeund", "conversation_id": cid})
        ).json()
        assert typo[0]["id"] == refund["id"]
        welcome = (
            await alice.get(f"{CANNED}/search", params={"q": "welc", "conversation_id": cid})
        ).json()
        assert (welcome[0]["kind"], welcome[0]["scope"], welcome[0]["id"]) == (
            "template",
            "company",
            template["id"],
        )

        r = await alice.post(f"/api/v1/conversations/{cid}/canned/{refund['id']}")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "text": "Hi Dana, refunds take 30 days. Alice, Sales",
            "missing": [],
        }
        r = await alice.post(f"/api/v1/conversations/{cid}/templates/{template['id']}")
        assert r.json()["text"] == "Welcome, Dana Scully!"
        # Nothing was sent: the chat has no message from the agent.
        transcript = (await alice.get(f"/api/v1/conversations/{cid}")).json()
        assert [e for e in transcript["entries"] if e["kind"] == "message"] == []
        assert (await alice.get(f"{CANNED}/{refund['id']}")).json()["uses"] == 1
        # The most used comes first when nothing is typed yet.
        everything = (await alice.get(f"{CANNED}/search", params={"conversation_id": cid})).json()
        assert everything[0]["id"] == refund["id"]

    async with world.staff_http("bob") as bob:
        # Not his chat, nor his workgroup's response.
        r = await bob.post(f"/api/v1/conversations/{cid}/canned/{refund['id']}")
        assert r.status_code == 404
        r = await bob.get(f"{CANNED}/search", params={"q": "ref", "conversation_id": cid})
        assert (r.status_code, r.json()["error"]["message"]) == (404, "no such conversation")


async def test_the_workgroups_greeting_is_sent_in_the_agents_name_on_accept(world: World) -> None:
    await _team(world)
    async with world.staff_http("sue") as sue:
        hello = await _create(
            sue,
            **{
                **REFUND,
                "shortcut": "hello",
                "text": "Hi {customer.first_name|there}, I am {agent.name}.",
            },
        )
        r = await sue.put("/api/v1/workgroups/sales/greeting", json={"canned_id": hello["id"]})
        assert r.status_code == 200, r.text
        assert r.json()["greeting"]["id"] == hello["id"]
    async with world.staff_http("alice") as alice:
        r = await alice.put("/api/v1/workgroups/sales/greeting", json={"canned_id": None})
        assert r.status_code == 403
        assert (await alice.get("/api/v1/workgroups/sales/greeting")).json()["greeting"][
            "id"
        ] == hello["id"]
    async with world.staff_http("bob") as bob:
        assert (await bob.get("/api/v1/workgroups/sales/greeting")).status_code == 404
    async with world.staff_http("root") as root:
        # Another workgroup's response cannot greet here.
        other = await _create(root, **{**REFUND, "workgroup": "support", "shortcut": "hi"})
        r = await root.put("/api/v1/workgroups/sales/greeting", json={"canned_id": other["id"]})
        assert r.status_code == 422

    chat = await world.open_chat(name="Dana Scully")
    cid = chat["conversation"]["id"]
    async with world.visitor(chat["visitor_token"]) as dana, world.agent("alice") as ws:
        offer = (await ws.expect_type("offer"))["offer"]
        assert (await ws.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
            "type"
        ] == "ok"
        greeting = await dana.expect(
            lambda m: m.get("type") == "entry" and m["entry"]["kind"] == "message"
        )
    assert greeting["entry"]["author"] == f"user:{world.user_ids['alice']}"
    assert greeting["entry"]["body"]["text"] == "Hi Dana, I am Alice."
    async with world.staff_http("alice") as alice:
        assert (await alice.get(f"{CANNED}/{hello['id']}")).json()["uses"] == 1
        entries = (await alice.get(f"/api/v1/conversations/{cid}")).json()["entries"]
    assert [e["kind"] for e in entries] == ["queued", "joined", "message"]
