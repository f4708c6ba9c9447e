"""Every response carries the same security headers, whatever its path: pages, /static files,
API answers and errors. The console cannot be framed; the widget's page only by the allowed
sites. Nothing here touches storage, so one backend is enough."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import make_world
from tests.support import World

from parley.bootstrap import build
from parley.settings import Settings
from parley.web.app import create_app
from parley.web.pages import STATIC

CONSOLE = "frame-ancestors 'none'"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world("sqlite", tmp_path):
        await w.add_workgroup("sales")
        await w.add_staff("alice", workgroups=["sales"])
        yield w


def csp(r: httpx.Response) -> dict[str, str]:
    directives = [d.strip() for d in r.headers["content-security-policy"].split(";")]
    return {d.split(" ", 1)[0]: d for d in directives if d}


def assert_common(r: httpx.Response, what: str) -> None:
    assert r.headers["x-content-type-options"] == "nosniff", what
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin", what
    assert "strict-transport-security" not in r.headers, what  # plain http, no public URL


def assert_not_frameable(r: httpx.Response, what: str) -> None:
    assert r.headers["x-frame-options"] == "DENY", what
    assert csp(r)["frame-ancestors"] == CONSOLE, what


def asset(kind: str) -> str:
    found = sorted((STATIC / "assets").glob(f"*.{kind}"))
    assert found, "the front ends are not built"
    return f"/static/assets/{found[0].name}"


async def test_every_kind_of_response_gets_the_headers(node: World) -> None:
    chat = await node.open_chat()
    async with node.node.http() as http:
        cases: list[tuple[str, httpx.Response]] = [
            ("console page", await http.get("/console/")),
            ("console deep link", await http.get("/console/chats/1")),
            ("console under /static", await http.get("/static/console/index.html")),
            ("widget under /static", await http.get("/static/widget/index.html")),
            ("script under /static", await http.get(asset("js"))),
            ("style under /static", await http.get(asset("css"))),
            ("missing under /static", await http.get("/static/nope.html")),
            ("loader", await http.get("/widget.js")),
            ("api 200", await http.get("/api/v1/workgroups/sales/status")),
            ("api 404", await http.get("/api/v1/workgroups/nope/status")),
            ("api 401", await http.get("/api/v1/conversations")),
            ("api 422", await http.post("/api/v1/workgroups/sales/chats", json={})),
            ("api 400", await http.post("/api/v1/workgroups/sales/chats", content="{")),
            ("api 405", await http.delete("/api/v1/workgroups/sales/status")),
            ("unknown path", await http.get("/nope")),
            ("healthz", await http.get("/healthz")),
            ("readyz", await http.get("/readyz")),
            ("openapi", await http.get("/openapi.json")),
            ("redirect", await http.get("/")),
        ]
        visitor = {"X-Visitor-Token": chat["visitor_token"]}
        cid = chat["conversation"]["id"]
        cases.append(
            ("transcript", await http.get(f"/api/v1/conversations/{cid}", headers=visitor))
        )
    statuses = {what: r.status_code for what, r in cases}
    assert statuses["console under /static"] == statuses["script under /static"] == 200
    assert (
        statuses["api 404"] == statuses["unknown path"] == statuses["missing under /static"] == 404
    )
    assert (statuses["api 422"], statuses["api 400"], statuses["api 405"]) == (422, 400, 405)
    for what, r in cases:
        assert_common(r, what)
        assert_not_frameable(r, what)
        if what.startswith("api") or what == "transcript":
            assert r.headers["cache-control"] == "no-store", what
    by_name = dict(cases)
    # HTML anywhere gets the pages' policy: Parley's own scripts only, no framing.
    for what in ["console page", "console under /static", "widget under /static"]:
        policy = csp(by_name[what])
        assert policy["script-src"] == "script-src 'self'", what
        assert policy["object-src"] == "object-src 'none'", what
    # Anything else may not even load anything when opened as a document.
    for what in ["script under /static", "api 200", "unknown path", "healthz"]:
        assert csp(by_name[what])["default-src"] == "default-src 'none'", what


async def test_the_widget_page_is_framed_by_parley_only_without_allowed_origins(
    node: World,
) -> None:
    async with node.node.http() as http:
        r = await http.get("/widget/")
    assert r.status_code == 200
    assert_common(r, "widget")
    assert "x-frame-options" not in r.headers
    assert csp(r)["frame-ancestors"] == "frame-ancestors 'self'"
    assert csp(r)["script-src"] == "script-src 'self'"


async def test_the_widget_page_is_framed_by_the_allowed_origins(tmp_path: Path) -> None:
    sites = ["https://shop.example", "https://www.shop.example:8443"]
    async for world in make_world("sqlite", tmp_path, allowed_origins=sites):
        async with world.node.http() as http:
            widget = await http.get("/widget/")
            console = await http.get("/console/")
        assert csp(widget)["frame-ancestors"] == "frame-ancestors " + " ".join(sites)
        assert "x-frame-options" not in widget.headers
        assert_not_frameable(console, "console")


@pytest.mark.parametrize(
    "origin",
    [
        "https://shop.example; script-src *",
        "https://shop.example/path",
        "null",
        "*",
        "shop.example",
    ],
)
def test_allowed_origins_must_be_origins(origin: str, tmp_path: Path) -> None:
    # They end up in the widget page's CSP: nothing but an origin may get there.
    with pytest.raises(ValueError, match="allowed origin"):
        Settings(data_dir=tmp_path, allowed_origins=[origin])


def test_allowed_origins_are_normalised(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, allowed_origins=["HTTPS://Shop.Example:443/"])
    assert settings.allowed_origins == ["https://shop.example"]


async def test_docs_pages_are_off_by_default(node: World) -> None:
    async with node.node.http() as http:
        for path in ["/docs", "/redoc", "/docs/oauth2-redirect"]:
            r = await http.get(path)
            assert r.status_code == 404, path
            assert_common(r, path)
        assert (await http.get("/openapi.json")).status_code == 200


async def test_docs_pages_with_the_setting(tmp_path: Path) -> None:
    async for world in make_world("sqlite", tmp_path, api_docs=True):
        async with world.node.http() as http:
            for path in ["/docs", "/redoc"]:
                r = await http.get(path)
                assert r.status_code == 200, path
                assert_not_frameable(r, path)
                # Their scripts come from the CDN; the console's policy is unchanged.
                assert "https://cdn.jsdelivr.net" in csp(r)["script-src"], path
            r = await http.get("/console/")
            assert csp(r)["script-src"] == "script-src 'self'"


async def test_hsts_with_an_https_public_url(tmp_path: Path) -> None:
    async for world in make_world("sqlite", tmp_path, public_url="https://chat.example.com"):
        async with world.node.http() as http:
            for path in ["/console/", "/api/v1/workgroups/nope/status", "/nope"]:
                r = await http.get(path)
                assert r.headers["strict-transport-security"] == "max-age=31536000", path


async def test_hsts_over_https_behind_a_proxy(tmp_path: Path) -> None:
    """X-Forwarded-Proto counts only from a trusted proxy (the test client is 127.0.0.1)."""
    async for trusting in make_world("sqlite", tmp_path / "a", trusted_proxies="127.0.0.1"):
        async with trusting.node.http(headers={"X-Forwarded-Proto": "https"}) as http:
            r = await http.get("/healthz")
        assert r.headers["strict-transport-security"] == "max-age=31536000"
    async for default in make_world("sqlite", tmp_path / "b"):
        async with default.node.http(headers={"X-Forwarded-Proto": "https"}) as http:
            r = await http.get("/healthz")
        assert "strict-transport-security" not in r.headers


async def test_an_unexpected_server_error_gets_the_headers_too(tmp_path: Path) -> None:
    """A 500 is written by Starlette's outermost error handler; the headers wrap even that."""
    app: Any = create_app(build(Settings(data_dir=tmp_path)), manage_lifecycle=False)
    assert isinstance(app, FastAPI)

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        r = await http.get("/api/v1/boom")
    assert r.status_code == 500
    assert_common(r, "500")
    assert_not_frameable(r, "500")
    assert r.headers["cache-control"] == "no-store"


async def test_a_revalidated_file_keeps_the_policy_of_its_200(node: World) -> None:
    """Browsers replace a stored response's headers with those of a 304: a 304 must not carry
    the "not a page" policy (it blocked the demo page's scripts after a reload)."""
    async with node.node.http() as http:
        for path in ["/static/console/index.html", "/demo/", asset("js")]:
            first = await http.get(path)
            if first.status_code == 404:  # /demo/ exists only on demo nodes
                continue
            again = await http.get(path, headers={"If-None-Match": first.headers["etag"]})
            assert again.status_code == 304, path
            assert "content-security-policy" not in again.headers, path
            assert "x-frame-options" not in again.headers, path
            assert_common(again, path)


async def test_staff_photos_are_cached_privately_and_revalidated_by_etag(node: World) -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(out, format="PNG")
    uid = node.user_ids["alice"]
    async with node.staff_http("alice") as http:
        r = await http.put("/api/v1/me/photo", content=out.getvalue())
        assert r.status_code == 200, r.text
        photo = f"/api/v1/staff/{uid}/photo"
        r = await http.get(photo)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.headers["cache-control"] == "private, max-age=300"
        etag = r.headers["etag"]
        assert_common(r, "photo")
        # Revalidated: 304, no body, the same caching and ETag.
        again = await http.get(photo, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "private, max-age=300"
        # A changed photo has a new ETag (and a new versioned URL in the directory).
        out2 = io.BytesIO()
        Image.new("RGB", (64, 64), "blue").save(out2, format="PNG")
        assert (await http.put("/api/v1/me/photo", content=out2.getvalue())).status_code == 200
        changed = await http.get(photo, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        # Everything else under /api/ stays no-store: other routes, and a photo route's errors.
        for path, status in (
            ("/api/v1/directory", 200),
            (f"/api/v1/staff/{uid}", 404),
            ("/api/v1/staff/99999/photo", 404),
            (f"/api/v1/staff/{uid}/photo/x", 404),
            ("/api/v1/me/photo", 405),
        ):
            r = await http.get(path)
            assert r.status_code == status, (path, r.text)
            assert r.headers["cache-control"] == "no-store", path
    # Not signed in: refused, and not cached either.
    async with node.node.http() as http:
        r = await http.get(f"/api/v1/staff/{uid}/photo")
        assert r.status_code == 401 and r.headers["cache-control"] == "no-store"
