"""Message templates through the public API, on both backends: admins keep them (audited),
every staff member reads them, and one the blocked words of staff_to_customer refuse cannot be
saved."""

from __future__ import annotations

from tests.support import World

from parley.domain.access import StaffRole

ADMIN = "/api/v1/admin/templates"


async def test_admins_keep_templates_that_agents_read(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    async with world.staff_http("root") as http:
        r = await http.post(
            ADMIN,
            json={"title": " Welcome ", "text": "Hello, I am here to help.", "kind": "greeting"},
        )
        assert r.status_code == 201, r.text
        hello = r.json()
        assert hello == {
            "id": hello["id"],
            "title": "Welcome",
            "text": "Hello, I am here to help.",
            "kind": "greeting",
            "tone": "professional",
        }
        r = await http.post(
            ADMIN,
            json={"title": "Bye", "text": "Cheers!\nAlice", "kind": "sign_off", "tone": "personal"},
        )
        bye = r.json()
        r = await http.put(
            f"{ADMIN}/{bye['id']}",
            json={"title": "Bye", "text": "Take care!", "kind": "sign_off", "tone": "personal"},
        )
        assert r.json()["text"] == "Take care!"
        for body in (
            {"title": "", "text": "x"},
            {"title": "t" * 81, "text": "x"},
            {"title": "two\nlines", "text": "x"},
            {"title": "t", "text": "x" * 1001},
            {"title": "t", "text": "   "},
            {"title": "t", "text": "bell\x07"},
            {"title": "t", "text": "x", "kind": "shout"},
        ):
            r = await http.post(ADMIN, json=body)
            assert r.status_code == 422, body
        assert (await http.put(f"{ADMIN}/999", json={"title": "t", "text": "x"})).status_code == 404
        assert (await http.delete(f"{ADMIN}/999")).status_code == 404
    async with world.staff_http("alice") as http:
        listed = (await http.get("/api/v1/templates")).json()
        assert [(t["kind"], t["title"]) for t in listed] == [
            ("greeting", "Welcome"),
            ("sign_off", "Bye"),
        ]
        r = await http.post(ADMIN, json={"title": "Mine", "text": "x"})
        assert r.status_code == 403
        assert (await http.delete(f"{ADMIN}/{hello['id']}")).status_code == 403
    async with world.staff_http("root") as http:
        assert (await http.delete(f"{ADMIN}/{hello['id']}")).status_code == 204
        audited = (await http.get("/api/v1/admin/audit", params={"action": "templates"})).json()
    assert [a["action"] for a in audited] == [
        "templates.deleted",
        "templates.updated",
        "templates.created",
        "templates.created",
    ]
    assert audited[0]["subject"] == f"template:{hello['id']}"


async def test_a_template_the_blocked_words_refuse_is_not_saved(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
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
        r = await http.post(ADMIN, json={"title": "Promise", "text": "We gu\u200barantee it"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "blocked_word")
        assert (await http.get("/api/v1/templates")).json() == []
