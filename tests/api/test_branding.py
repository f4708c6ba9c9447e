"""The widget's branding through the public API, on both backends: admins set a workgroup's
colour (refused below 4.5:1 against the widget's white text), greeting, corner and logo (only
re-encoded pixels are served; bombs and files that lie about their type refused, nothing
stored); the public status carries it; and a visitor fetches the photo of the staff who are or
were in their chat, and nobody else's."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image
from tests.api.test_directory import claimed_bomb, png
from tests.api.test_transfers import chatting, is_entry, transfer
from tests.support import World

from parley.domain.access import StaffRole

BRANDING = "/api/v1/admin/workgroups/sales/branding"
LOGO = "/api/v1/admin/workgroups/sales/logo"
STATUS = "/api/v1/workgroups/sales/status"


async def rest(world: World, who: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
    client = world.node.http() if who is None else world.staff_http(who)
    async with client as http:
        return await http.request(method, path, **kw)


async def status(world: World) -> dict[str, Any]:
    r = await rest(world, None, "get", STATUS)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def setup(world: World) -> None:
    await world.add_staff("admin", StaffRole.ADMIN)
    await world.add_staff("alice", workgroups=["sales"])


async def test_branding_is_set_by_admins_and_shown_in_the_status(world: World) -> None:
    await setup(world)
    assert (await status(world))["branding"] == {
        "color": None,
        "logo_url": None,
        "greeting": "",
        "position": "right",
    }
    body = {
        "color": "#1F6B45",
        "greeting": " Hej! Ask us anything.\nWe answer fast. ",
        "position": "left",
    }
    r = await rest(world, "admin", "put", BRANDING, json=body)
    assert r.status_code == 200, r.text
    saved = {
        "color": "#1f6b45",
        "logo_url": None,
        "greeting": "Hej! Ask us anything.\nWe answer fast.",
        "position": "left",
    }
    assert r.json() == saved
    assert (await rest(world, "admin", "get", BRANDING)).json() == saved
    assert (await status(world))["branding"] == saved
    # #rgb is expanded; an empty colour is Parley's own.
    r = await rest(world, "admin", "put", BRANDING, json={"color": "#036"})
    assert r.json()["color"] == "#003366" and r.json()["position"] == "right"
    r = await rest(world, "admin", "put", BRANDING, json={"color": ""})
    assert r.json()["color"] is None
    # Agents do not brand; a missing workgroup is said so.
    r = await rest(world, "alice", "put", BRANDING, json=body)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    assert (await rest(world, "alice", "get", BRANDING)).status_code == 403
    r = await rest(world, "admin", "put", "/api/v1/admin/workgroups/nope/branding", json=body)
    assert r.status_code == 404


async def test_bad_and_low_contrast_colours_are_refused(world: World) -> None:
    await setup(world)
    await rest(world, "admin", "put", BRANDING, json={"color": "#1f6b45"})
    for bad in ("green", "#12345", "#1234567", "rgb(0,0,0)", "#00000g", "url(x)", "#fff;x"):
        r = await rest(world, "admin", "put", BRANDING, json={"color": bad})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input"), bad
        assert "#rrggbb" in r.json()["error"]["message"]
    # White text on it would be below 4.5:1 (WCAG AA): refused, with the ratio.
    for light, ratio in (("#777777", 4.47), ("#ffb020", 1.82), ("#ffffff", 1.0)):
        r = await rest(world, "admin", "put", BRANDING, json={"color": light})
        error = r.json()["error"]
        assert (r.status_code, error["code"]) == (422, "low_contrast"), light
        assert error["details"] == {"ratio": ratio, "minimum": 4.5, "against": "#ffffff"}
        assert f"{ratio:.2f}:1" in error["message"] and "4.5:1" in error["message"]
    # Just enough is accepted; what was refused changed nothing.
    assert (await status(world))["branding"]["color"] == "#1f6b45"
    r = await rest(world, "admin", "put", BRANDING, json={"color": "#767676"})
    assert r.status_code == 200
    # A greeting: plain text of at most 300 characters, line breaks but no control characters.
    r = await rest(world, "admin", "put", BRANDING, json={"greeting": "x" * 301})
    assert r.status_code == 422 and "300" in r.json()["error"]["message"]
    r = await rest(world, "admin", "put", BRANDING, json={"greeting": "Hi\x1b[31m"})
    assert r.status_code == 422
    r = await rest(world, "admin", "put", BRANDING, json={"position": "top"})
    assert r.status_code == 422


async def test_logo_is_reencoded_and_served_publicly_as_pixels_only(world: World) -> None:
    await setup(world)
    source = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    Image.new("RGB", (1200, 300), "navy").save(source, format="JPEG", exif=exif.tobytes())
    r = await rest(
        world,
        "admin",
        "put",
        LOGO,
        content=source.getvalue(),
        headers={"Content-Type": "text/html"},
    )
    assert r.status_code == 200, r.text
    url = r.json()["logo_url"]
    assert url.startswith("/api/v1/workgroups/sales/logo?v=")
    assert (await status(world))["branding"]["logo_url"] == url
    served = await rest(world, None, "get", url)  # no credentials: the status is public too
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in served.headers["content-security-policy"]
    etag = served.headers["etag"]
    assert url.endswith(etag.strip('"'))
    image = Image.open(io.BytesIO(served.content))
    assert (image.format, image.size) == ("PNG", (480, 120))  # its shape kept, within 480x160
    assert image.info == {} and not image.getexif()
    assert b"secret" not in served.content
    again = await rest(world, None, "get", url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    # A small one is not enlarged; deleting it is said in the status.
    r = await rest(world, "admin", "put", LOGO, content=png((40, 20)))
    small = Image.open(io.BytesIO((await rest(world, None, "get", r.json()["logo_url"])).content))
    assert small.size == (40, 20)
    r = await rest(world, "admin", "delete", LOGO)
    assert r.status_code == 200 and r.json()["logo_url"] is None
    assert (await rest(world, None, "get", "/api/v1/workgroups/sales/logo")).status_code == 404
    assert (await status(world))["branding"]["logo_url"] is None
    # Agents do not upload logos.
    r = await rest(world, "alice", "put", LOGO, content=png())
    assert r.status_code == 403


async def test_bad_logos_are_refused_and_nothing_is_stored(world: World) -> None:
    await setup(world)
    cases = [
        b"",
        b"just some text, named logo.png\n" * 20,
        png()[:60],  # truncated
        claimed_bomb(),  # 10^10 pixels claimed in 80 bytes
        png((12_000, 12_000), mode="1"),  # 144 M pixels in a few KB
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"GIF89a<script>alert(1)</script>",  # a type that lies about itself
        b"%PDF-1.4\n" + b"0" * 100,
    ]
    for body in cases:
        r = await rest(
            world, "admin", "put", LOGO, content=body, headers={"Content-Type": "image/png"}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "bad_image"), (body[:20], r.text)
        assert "logo" in r.json()["error"]["message"]
    assert (await status(world))["branding"]["logo_url"] is None
    # Over max_photo_bytes (2 MB): 413 on the header alone (web.limits); under max_body_bytes
    # (64 KiB) is not the limit for this route.
    r = await rest(world, "admin", "put", LOGO, content=b"\x89PNG" + b"\0" * (2 * 1024 * 1024))
    assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")
    assert (await status(world))["branding"]["logo_url"] is None


async def test_a_visitor_sees_the_photos_of_the_staff_in_their_chat_only(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    await world.add_staff("carol", workgroups=["sales"])
    for who in ("alice", "bob", "carol"):
        r = await rest(world, who, "put", "/api/v1/me/photo", content=png((64, 64)))
        assert r.status_code == 200, r.text
    ids = world.user_ids

    async def photo(token: str | None, cid: str, user_id: int) -> int:
        headers = {} if token is None else {"X-Visitor-Token": token}
        async with world.node.http(headers=headers) as http:
            r = await http.get(f"/api/v1/conversations/{cid}/staff/{user_id}/photo")
        if r.status_code == 200:
            assert r.headers["content-type"] == "image/png"
            assert r.headers["x-content-type-options"] == "nosniff"
        else:
            assert r.json()["error"]["message"] in ("no photo for this staff member",), r.text
        return r.status_code

    async with world.agent("alice") as alice:
        chat = await chatting(world, alice)
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        other = await world.open_chat(name="Eve")
        assert await photo(token, cid, ids["alice"]) == 200
        # Not in this chat (yet): the same 404 as no photo at all.
        assert await photo(token, cid, ids["bob"]) == 404
        assert await photo(token, cid, 999_999) == 404
        # Another visitor's token reads nothing of this chat.
        assert await photo(other["visitor_token"], cid, ids["alice"]) == 404
        assert await photo(token, other["conversation"]["id"], ids["alice"]) == 404
        async with world.visitor(token) as zoe, world.agent("bob") as bob:
            assert await transfer(world, "alice", cid, kind="agent", name="bob") == 202
            offer = (await bob.expect_type("offer"))["offer"]
            await bob.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            await zoe.expect(is_entry("left"))
        # After the transfer: Bob's photo, and still Alice's (she was in it); never Carol's.
        assert await photo(token, cid, ids["bob"]) == 200
        assert await photo(token, cid, ids["alice"]) == 200
        assert await photo(token, cid, ids["carol"]) == 404
        # Staff who read the chat see them too; no credentials at all: 401.
        async with world.staff_http("carol") as http:
            r = await http.get(f"/api/v1/conversations/{cid}/staff/{ids['bob']}/photo")
        assert r.status_code == 200
        async with world.node.http() as http:
            r = await http.get(f"/api/v1/conversations/{cid}/staff/{ids['bob']}/photo")
        assert r.status_code == 401
        # A removed photo is gone for the visitor as well.
        await rest(world, "bob", "delete", "/api/v1/me/photo")
        assert await photo(token, cid, ids["bob"]) == 404


async def test_the_embed_snippet_knows_the_public_url_and_allowed_sites(world: World) -> None:
    await setup(world)
    r = await rest(world, "admin", "get", "/api/v1/admin/embed")
    assert r.status_code == 200
    assert r.json() == {
        "public_url": world.parley.settings.public_url,
        "allowed_origins": list(world.parley.settings.allowed_origins),
    }
    assert (await rest(world, "alice", "get", "/api/v1/admin/embed")).status_code == 403
