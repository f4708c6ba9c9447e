"""Standard display names through the API, on both backends: an admin picks the format in the
account policy (audited); the directory, the names in new conversations and the agent's name a
customer sees use it; the name as entered is kept and comes back with the format."""

from __future__ import annotations

from typing import Any

from tests.support import World

from parley.domain.access import StaffRole

POLICY = "/api/v1/admin/account-policy"


async def call(world: World, who: str, method: str, path: str, **kw: Any) -> Any:
    async with world.staff_http(who) as http:
        r = await http.request(method, path, **kw)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def directory_names(world: World, who: str) -> dict[str, str]:
    rows = await call(world, who, "get", "/api/v1/directory")
    return {r["username"]: r["display_name"] for r in rows}


async def test_an_admin_sets_how_names_look_and_everyone_is_shown_them(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob")
    entered = "  Alice   Marie Baker "
    await call(world, "root", "patch", "/api/v1/admin/users/alice", json={"display_name": entered})
    assert (await directory_names(world, "bob"))["alice"] == "Alice   Marie Baker"  # as entered

    policy = await call(world, "root", "get", POLICY)
    assert policy["name_format"] == "as_entered"  # the default
    async with world.agent("bob", available=False) as bob:
        got = await call(world, "root", "put", POLICY, json={**policy, "name_format": "first_l"})
        # Bob's open console is told the new name at once (no reload).
        told = await bob.expect_type("staff_profile", user_id=world.user_ids["alice"])
        assert told["display_name"] == "Alice B."
    assert got["name_format"] == "first_l"
    names = await directory_names(world, "bob")
    assert names["alice"] == "Alice B." and names["bob"] == "Bob"  # one word stays
    # Admins see the name as entered (what they edit) and the name everyone else sees.
    users = {u["username"]: u for u in await call(world, "root", "get", "/api/v1/admin/users")}
    assert users["alice"]["display_name"] == "Alice   Marie Baker"
    assert users["alice"]["shown_name"] == "Alice B."
    # A policy sent without the format leaves it as it is; a format not on the list is refused.
    kept = await call(world, "root", "put", POLICY, json={"require_2fa": "none"})
    assert kept["name_format"] == "first_l"
    async with world.staff_http("root") as http:
        r = await http.put(POLICY, json={"name_format": "Last, First"})
        assert r.status_code == 422, r.text
    # New and renamed accounts get the format too.
    made = await call(
        world,
        "root",
        "post",
        "/api/v1/admin/users",
        json={
            "username": "carol",
            "password": "correct horse battery",
            "role": "agent",
            "display_name": "Carol Smith-Jones",
        },
    )
    assert (made["display_name"], made["shown_name"]) == ("Carol Smith-Jones", "Carol S.-J.")
    renamed = await call(
        world, "root", "patch", "/api/v1/admin/users/bob", json={"display_name": "Bob Ng"}
    )
    assert (renamed["display_name"], renamed["shown_name"]) == ("Bob Ng", "Bob N.")

    # The names in a new conversation: a DM's members, and the agent a customer sees.
    dm = await call(
        world, "alice", "post", "/api/v1/im/direct", json={"user_ids": [world.user_ids["bob"]]}
    )
    assert sorted(p["name"] for p in dm["participants"]) == ["Alice B.", "Bob N."]
    me = await call(world, "alice", "get", "/api/v1/auth/me")
    assert me["user"]["display_name"] == "Alice B."
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.expect_type("conversation")
    async with world.node.http() as http:
        r = await http.get(
            f"/api/v1/conversations/{chat['conversation']['id']}",
            headers={"X-Visitor-Token": chat["visitor_token"]},
        )
    agents = [p["name"] for p in r.json()["conversation"]["participants"] if p["role"] == "agent"]
    assert agents == ["Alice B."]

    # Back to as entered: the names come back as typed.
    await call(world, "root", "put", POLICY, json={"name_format": "as_entered"})
    names = await directory_names(world, "bob")
    assert names["alice"] == "Alice   Marie Baker" and names["carol"] == "Carol Smith-Jones"
    # Every change of the format is in the audit log.
    rows = await call(
        world, "root", "get", "/api/v1/admin/audit", params={"action": "account_policy"}
    )
    formats = [
        (r["details"]["before"]["name_format"], r["details"]["after"]["name_format"]) for r in rows
    ]
    assert ("as_entered", "first_l") in formats and ("first_l", "as_entered") in formats
