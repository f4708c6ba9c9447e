"""A workgroup's extra pre-chat form fields: configured by an admin, shown to the widget,
required answers enforced, answers stored with the chat and shown in the agent's offer."""

from __future__ import annotations

from tests.support import World

from parley.domain.access import StaffRole

FIELDS = [
    {"name": "order_number", "label": "Order number", "required": True},
    {"name": "product", "label": "Product", "required": False},
]


async def test_form_fields_from_admin_to_offer(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice", workgroups=["sales"])
    async with world.staff_http("root") as admin:
        r = await admin.put(
            "/api/v1/admin/workgroups/sales", json={"name": "Sales", "form_fields": FIELDS}
        )
        assert r.status_code == 200, r.text
        assert r.json()["form_fields"] == FIELDS
        for bad in (
            [{"name": "email", "label": "Email again"}],
            [{"name": "Order", "label": "x"}],
            [{"name": "a", "label": "A"}, {"name": "a", "label": "B"}],
        ):
            r = await admin.put(
                "/api/v1/admin/workgroups/sales", json={"name": "Sales", "form_fields": bad}
            )
            assert r.status_code == 422, (bad, r.text)
    async with world.node.http() as http:
        status = (await http.get("/api/v1/workgroups/sales/status")).json()
        assert status["form_fields"] == FIELDS
        r = await http.post(
            "/api/v1/workgroups/sales/chats", json={"name": "Zoe", "extra": {"product": "bike"}}
        )
        assert r.status_code == 422, r.text
        assert "Order number" in r.json()["error"]["message"]
    async with world.agent("alice") as alice:
        chat = await world.open_chat(name="Zoe", extra={"order_number": "A-17", "product": "bike"})
        offer = (await alice.expect_type("offer"))["offer"]
        assert offer["metadata"]["extra"] == {"order_number": "A-17", "product": "bike"}
        assert chat["conversation"]["metadata"]["extra"]["order_number"] == "A-17"
