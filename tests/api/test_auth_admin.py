"""Staff authentication, roles and administration, over REST and the command line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio.to_thread
import click
import httpx
import pytest
from click.testing import CliRunner, Result
from tests.fakes import FakeClock
from tests.support import PASSWORD, World, WsClient, run_node, settings_for

from parley.cli import main, settings_from
from parley.domain.access import StaffRole
from parley.settings import Settings

SESSION_COOKIE = "parley_session"


def cookie_headers(token: str, csrf: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"{SESSION_COOKIE}={token}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def login(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/api/v1/auth/login", json={"username": username, "password": password})


# Login, cookies, CSRF -----------------------------------------------------------------------------


async def test_login_failures_are_unauthenticated(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.node.http() as http:
        for username, password in [
            ("alice", "wrong password"),
            ("alice", PASSWORD.upper()),
            ("nobody", PASSWORD),
            ("Alice", PASSWORD),
        ]:
            r = await login(http, username, password)
            assert r.status_code == 401, (username, r.text)
            assert error_code(r) == "unauthenticated"
            assert "set-cookie" not in r.headers
        # Both failures read the same: the answer does not tell which usernames exist.
        wrong = await login(http, "alice", "wrong password")
        unknown = await login(http, "nobody", "wrong password")
        assert wrong.json() == unknown.json()
        r = await http.post("/api/v1/auth/login", json={"username": "alice"})
        assert r.status_code == 422, r.text
        assert error_code(r) == "invalid_input"


async def test_login_cookie_csrf_and_logout(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.node.http() as http:
        r = await login(http, "alice")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["user"]["username"] == "alice"
        assert body["user"]["role"] == "agent"
        csrf = body["csrf_token"]
        assert csrf
        cookie = r.headers["set-cookie"]
        attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")}
        token = r.cookies[SESSION_COOKIE]
        assert cookie.startswith(f"{SESSION_COOKIE}={token}")
        assert "httponly" in attributes
        assert attributes["samesite"].lower() == "samesite=lax"
        assert attributes["path"] == "Path=/"
        assert attributes["max-age"] == f"Max-Age={7 * 86_400}"
        assert "secure" not in attributes  # secure_cookies is off by default

    async with world.node.http(headers=cookie_headers(token)) as http:
        me = await http.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["csrf_token"] == csrf
        assert me.json()["user"]["username"] == "alice"
        # Reading needs no CSRF token; writing does.
        assert (await http.get("/api/v1/me/offers")).status_code == 200
        for headers in [{}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}]:
            r = await http.put(
                "/api/v1/me/presence", json={"presence": "available"}, headers=headers
            )
            assert r.status_code == 403, r.text
            assert error_code(r) == "forbidden"
            r = await http.post("/api/v1/auth/tokens", json={}, headers=headers)
            assert r.status_code == 403, r.text
        async with world.node.http() as anonymous:
            status = (await anonymous.get("/api/v1/workgroups/sales/status")).json()
        assert status["open"] is False  # the refused writes changed nothing

        r = await http.put(
            "/api/v1/me/presence",
            json={"presence": "available"},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 200, r.text
        assert r.json()["presence"] == "available"
        async with world.node.http() as anonymous:
            status = (await anonymous.get("/api/v1/workgroups/sales/status")).json()
        assert status["open"] is True

        # Logging out is a write too: it needs the CSRF token, then ends the session.
        r = await http.post("/api/v1/auth/logout")
        assert r.status_code == 403, r.text
        assert (await http.get("/api/v1/auth/me")).status_code == 200
        r = await http.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 204, r.text
        assert SESSION_COOKIE in r.headers["set-cookie"]
        assert re.search(r"max-age=0|expires=", r.headers["set-cookie"], re.IGNORECASE)
        r = await http.get("/api/v1/auth/me")
        assert r.status_code == 401, r.text
        assert error_code(r) == "unauthenticated"
        r = await http.put(
            "/api/v1/me/presence", json={"presence": "away"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 401, r.text


async def test_bearer_session_needs_no_csrf_and_sessions_expire(world: World) -> None:
    token = await world.add_staff("alice", workgroups=["sales"])
    async with world.node.http(headers=bearer(token)) as http:
        me = await http.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        r = await http.put("/api/v1/me/presence", json={"presence": "away"})
        assert r.status_code == 200, r.text
        # A bearer header wins over a cookie, so no CSRF check applies.
        r = await http.put(
            "/api/v1/me/presence",
            json={"presence": "away", "status_text": "lunch"},
            headers={"Cookie": f"{SESSION_COOKIE}={token}"},
        )
        assert r.status_code == 200, r.text

        world.clock.advance(7 * 86_400 - 1)
        assert (await http.get("/api/v1/auth/me")).status_code == 200
        world.clock.advance(1)
        r = await http.get("/api/v1/auth/me")
        assert r.status_code == 401, r.text
        assert error_code(r) == "unauthenticated"

    for header in [{"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, bearer("nope")]:
        async with world.node.http(headers=header) as http:
            r = await http.get("/api/v1/auth/me")
            assert r.status_code == 401, (header, r.text)
            assert error_code(r) == "unauthenticated"


async def test_api_tokens(world: World) -> None:
    session = await world.add_staff("alice", workgroups=["sales"])
    async with world.node.http(headers=bearer(session)) as http:
        r = await http.post("/api/v1/auth/tokens", json={"name": "ci"})
        assert r.status_code == 201, r.text
        api_token = r.json()["token"]
        assert api_token
        assert api_token != session
        for body in [{"name": "x" * 129}, {"name": " "}, {}, {"label": "ci"}]:
            r = await http.post("/api/v1/auth/tokens", json=body)
            assert r.status_code == 422, r.text
    async with world.node.http() as anonymous:
        r = await anonymous.post("/api/v1/auth/tokens", json={})
        assert r.status_code == 401, r.text

    async with world.node.http(headers=bearer(api_token)) as http:
        me = await http.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["user"]["username"] == "alice"
        assert me.json()["csrf_token"] is None  # not a cookie session
        r = await http.put("/api/v1/me/presence", json={"presence": "available"})
        assert r.status_code == 200, r.text
        # API tokens do not expire with sessions, but after their own lifetime (90 days).
        world.clock.advance(90 * 86_400 - 1)
        assert (await http.get("/api/v1/auth/me")).status_code == 200
        async with world.node.http(headers=bearer(session)) as expired:
            assert (await expired.get("/api/v1/auth/me")).status_code == 401
        world.clock.advance(1)
        assert (await http.get("/api/v1/auth/me")).status_code == 401


# Roles and administration -------------------------------------------------------------------------


async def test_admin_endpoints_need_the_admin_role(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    user = {"username": "mallory", "password": "password123", "role": "admin"}
    for who in ["alice", "sam"]:
        async with world.staff_http(who) as http:
            for method, url, body in [
                ("GET", "/api/v1/admin/users", None),
                ("POST", "/api/v1/admin/users", user),
                ("PATCH", "/api/v1/admin/users/alice", {"role": "admin"}),
                ("POST", "/api/v1/admin/workgroups", {"slug": "evil", "name": "Evil"}),
                ("PUT", "/api/v1/admin/workgroups/sales", {"name": "Mine"}),
                ("PUT", "/api/v1/admin/workgroups/sales/members", {"usernames": [who]}),
            ]:
                r = await http.request(method, url, json=body)
                assert r.status_code == 403, (who, method, url, r.text)
                assert error_code(r) == "forbidden"
            # Any staff member may list workgroups.
            r = await http.get("/api/v1/admin/workgroups")
            assert r.status_code == 200, r.text
            assert [(w["slug"], w["name"], w["members"]) for w in r.json()] == [
                ("sales", "Sales", ["alice"])
            ]
    async with world.node.http() as anonymous:
        r = await anonymous.get("/api/v1/admin/users")
        assert r.status_code == 401, r.text
    chat = await world.open_chat()
    async with world.node.http(headers={"X-Visitor-Token": chat["visitor_token"]}) as visitor:
        r = await visitor.get("/api/v1/admin/workgroups")
        assert r.status_code == 401, r.text
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        users = (await http.get("/api/v1/admin/users")).json()
    assert [(u["username"], u["role"]) for u in users] == [
        ("alice", "agent"),
        ("root", "admin"),
        ("sam", "supervisor"),
    ]


async def test_admin_manages_users(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        r = await http.post(
            "/api/v1/admin/users",
            json={
                "username": "bob",
                "password": "password123",
                "display_name": "Bob B.",
                "workgroups": ["sales"],
            },
        )
        assert r.status_code == 201, r.text
        assert {k: v for k, v in r.json().items() if k != "id"} == {
            "username": "bob",
            "display_name": "Bob B.",
            "shown_name": "Bob B.",
            "role": "agent",
            "active": True,
            "email": None,
            "two_factor": False,
        }
        r = await http.post(
            "/api/v1/admin/users", json={"username": "bob", "password": "other-password"}
        )
        assert r.status_code == 409, r.text
        assert error_code(r) == "conflict"

        invalid: list[dict[str, Any]] = [
            {"username": "carol", "password": "short12"},  # 7 characters
            {"username": "carol"},
            {"username": "", "password": "password123"},
            {"username": "Carol", "password": "password123"},
            {"username": "carol smith", "password": "password123"},
            {"username": "carol", "password": "password123", "role": "owner"},
            {"username": "carol", "password": "password123", "display_name": "c" * 129},
        ]
        for body in invalid:
            r = await http.post("/api/v1/admin/users", json=body)
            assert r.status_code == 422, (body, r.text)
            assert error_code(r) == "invalid_input", body
        # An unknown workgroup refuses the whole account (nothing half-created).
        r = await http.post(
            "/api/v1/admin/users",
            json={"username": "carol", "password": "password123", "workgroups": ["nope"]},
        )
        assert r.status_code == 404, r.text
        assert error_code(r) == "not_found"
        users = [u["username"] for u in (await http.get("/api/v1/admin/users")).json()]
        assert users == ["bob", "root"]

        r = await http.patch("/api/v1/admin/users/bob", json={"role": "supervisor"})
        assert r.status_code == 200, r.text
        assert r.json()["role"] == "supervisor"
        r = await http.patch("/api/v1/admin/users/nobody", json={"active": False})
        assert r.status_code == 404, r.text
        r = await http.patch("/api/v1/admin/users/bob", json={"password": "short"})
        assert r.status_code == 422, r.text

    async with world.node.http() as http:
        r = await login(http, "bob", "password123")
        assert r.status_code == 200, r.text
        assert r.json()["user"] == {
            "id": r.json()["user"]["id"],
            "username": "bob",
            "display_name": "Bob B.",
            "role": "supervisor",
        }
        assert (await login(http, "carol", "password123")).status_code == 401
        bob_session = r.cookies[SESSION_COOKIE]

    # A new password ends the old sessions; the new one works.
    async with world.staff_http("root") as http:
        r = await http.patch("/api/v1/admin/users/bob", json={"password": "new-password"})
        assert r.status_code == 200, r.text
    async with world.node.http(headers=bearer(bob_session)) as http:
        assert (await http.get("/api/v1/auth/me")).status_code == 401
        assert (await login(http, "bob", "password123")).status_code == 401
        assert (await login(http, "bob", "new-password")).status_code == 200


async def test_admin_manages_workgroups(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    await world.add_staff("bob")
    async with world.staff_http("root") as http:
        r = await http.post("/api/v1/admin/workgroups", json={"slug": "support", "name": "Support"})
        assert r.status_code == 201, r.text
        created = r.json()
        assert {k: v for k, v in created.items() if k != "id"} == {
            "slug": "support",
            "name": "Support",
            "button_text": "",
            "offer_timeout_secs": 30,
            "wait_timeout_secs": 300,
            "max_chats": 3,
            "form_fields": [],
            "members": [],
            "decline_cooldown_secs": 20,
            "preferred_agent_secs": 10,
            "max_missed_offers": 3,
            "transfer_targets": ["agent", "queue", "workgroup"],
            "max_transfers": 3,
            "invitations": True,
            "identity": "optional",
            "customer_idle_secs": 300,
        }
        r = await http.post("/api/v1/admin/workgroups", json={"slug": "support", "name": "Again"})
        assert r.status_code == 409, r.text
        assert error_code(r) == "conflict"
        for body in [
            {"slug": "Support Team", "name": "x"},
            {"slug": "help", "name": ""},
            {"slug": "help", "name": "Help", "offer_timeout_secs": 4},
            {"slug": "help", "name": "Help", "max_chats": 0},
            {"slug": "help", "name": "Help", "decline_cooldown_secs": -1},
            {"slug": "help", "name": "Help", "max_missed_offers": 101},
        ]:
            r = await http.post("/api/v1/admin/workgroups", json=body)
            assert r.status_code == 422, (body, r.text)
            assert error_code(r) == "invalid_input"

        r = await http.put(
            "/api/v1/admin/workgroups/support/members", json={"usernames": ["bob", "alice"]}
        )
        assert r.status_code == 200, r.text
        assert r.json() == ["alice", "bob"]
        r = await http.put(
            "/api/v1/admin/workgroups/support/members", json={"usernames": ["alice", "ghost"]}
        )
        assert r.status_code == 404, r.text
        assert error_code(r) == "not_found"
        r = await http.put("/api/v1/admin/workgroups/nope/members", json={"usernames": []})
        assert r.status_code == 404, r.text

        settings = {
            "name": "Customer support",
            "button_text": "Ask us",
            "offer_timeout_secs": 5,
            "wait_timeout_secs": 600,
            "max_chats": 4,
        }
        for field, bad in [
            ("offer_timeout_secs", 4),
            ("offer_timeout_secs", 601),
            ("wait_timeout_secs", 9),
            ("wait_timeout_secs", 86_401),
            ("max_chats", 101),
            ("name", "   "),
            ("identity", "sometimes"),
        ]:
            r = await http.put("/api/v1/admin/workgroups/support", json={**settings, field: bad})
            assert r.status_code == 422, (field, bad, r.text)
            assert error_code(r) == "invalid_input"
        r = await http.put("/api/v1/admin/workgroups/nope", json=settings)
        assert r.status_code == 404, r.text

        r = await http.put("/api/v1/admin/workgroups/support", json=settings)
        assert r.status_code == 200, r.text
        assert {k: v for k, v in r.json().items() if k != "id"} == {
            "slug": "support",
            **settings,
            "form_fields": [],
            "members": ["alice", "bob"],
            "decline_cooldown_secs": 20,
            "preferred_agent_secs": 10,
            "max_missed_offers": 3,
            "transfer_targets": ["agent", "queue", "workgroup"],
            "max_transfers": 3,
            "invitations": True,
            "identity": "optional",
            "customer_idle_secs": 300,
        }
        listed = {w["slug"]: w for w in (await http.get("/api/v1/admin/workgroups")).json()}
        assert listed["support"] == r.json()

    async with world.node.http() as anonymous:
        r = await anonymous.get("/api/v1/workgroups/support/status")
        assert r.json() == {
            "slug": "support",
            "name": "Customer support",
            "button_text": "Ask us",
            "open": False,
            "form_fields": [],
            # Nobody is a member: the widget asks visitors to leave a message.
            "accepting": False,
            "reason": "no_agents",
            "next_open": None,
            "identity": "optional",
            "archive_notice": "",  # none set (see test_archive.py)
            "branding": {"color": None, "logo_url": None, "greeting": "", "position": "right"},
        }


async def test_deactivated_user_loses_sessions_and_offers(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    alice = await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.staff_http("alice") as http:
        r = await http.post("/api/v1/auth/tokens", json={"name": "script"})
        api_token = r.json()["token"]

    # Both available since the same instant with no chats: the tie goes to the lower id,
    # alice, unless she no longer counts.
    async with world.agent("alice") as alice_ws, world.agent("bob") as bob_ws:
        async with world.staff_http("root") as http:
            r = await http.patch("/api/v1/admin/users/alice", json={"active": False})
            assert r.status_code == 200, r.text
            assert r.json()["active"] is False

        for token in [alice, api_token]:
            async with world.node.http(headers=bearer(token)) as http:
                r = await http.get("/api/v1/auth/me")
                assert r.status_code == 401, r.text
                assert error_code(r) == "unauthenticated"
        async with world.node.http() as http:
            assert (await login(http, "alice")).status_code == 401

        # Her open socket was closed with her session (see test_revocation.py).
        await alice_ws.expect(lambda m: m.get("code") == "unauthenticated")
        chat = await world.open_chat()
        offer = (await bob_ws.expect_type("offer"))["offer"]
        assert offer["conversation_id"] == chat["conversation"]["id"]
        assert not [m for m in alice_ws.received if m["type"] == "offer"]

        # Bob declines: the request has nobody else to go to.
        ok = await bob_ws.request({"type": "decline_offer", "offer_id": offer["offer_id"]})
        assert ok["type"] == "ok"
        await bob_ws.expect_type("offer_ended", offer_id=offer["offer_id"])
        assert not [m for m in alice_ws.received if m["type"] == "offer"]

        # A fresh hello with the old token is refused.
        async with WsClient.connect(world.node.ws_url) as ws:
            await ws.send({"type": "hello", "token": alice})
            error = await ws.expect_type("error")
            assert error["code"] == "unauthenticated"

    # Reactivated, alice must log in again; then she is offered chats again.
    async with world.staff_http("root") as http:
        r = await http.patch("/api/v1/admin/users/alice", json={"active": True})
        assert r.status_code == 200, r.text
    async with world.node.http(headers=bearer(alice)) as http:
        assert (await http.get("/api/v1/auth/me")).status_code == 401
        r = await login(http, "alice")
        assert r.status_code == 200, r.text
        fresh = r.cookies[SESSION_COOKIE]
    async with WsClient.connect(world.node.ws_url) as ws:
        await ws.hello(token=fresh)
        assert (await ws.request({"type": "set_presence", "presence": "available"}))["type"] == "ok"
        # The request bob declined is still waiting; now it goes to alice.
        offer = (await ws.expect_type("offer"))["offer"]
        assert offer["conversation_id"] == chat["conversation"]["id"]


# Command line -------------------------------------------------------------------------------------


def run_cli(args: list[str], stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, args, input=stdin, env=env)


async def cli(args: list[str], stdin: str | None = None, **env: str) -> Result:
    # The commands call asyncio.run(): give them a thread of their own, off the test's loop.
    return await anyio.to_thread.run_sync(lambda: run_cli(args, stdin, env or None))


async def test_cli_create_user_then_log_in(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    data = str(settings.data_dir)
    result = await cli(
        ["admin", "create-workgroup", "--slug", "sales", "--name", "Sales", "--data-dir", data]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    result = await cli(
        [
            "admin",
            "create-user",
            "--username",
            "xavier",
            "--role",
            "agent",
            "--workgroup",
            "sales",
            "--password-stdin",
            "--data-dir",
            data,
        ],
        stdin="password123\n",
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert "created agent 'xavier'" in result.output
    assert "password" not in result.output.lower()  # nothing was prompted for

    # Options may come from PARLEY_* variables instead.
    result = await cli(
        ["admin", "create-user", "--username", "yves", "--role", "admin", "--password-stdin"],
        stdin="password456\r\n",
        PARLEY_DATA_DIR=data,
    )
    assert result.exit_code == 0, (result.output, result.exception)

    async with run_node(settings, FakeClock()) as node, node.http() as http:
        r = await login(http, "xavier", "password123")
        assert r.status_code == 200, r.text
        assert r.json()["user"]["role"] == "agent"
        r = await login(http, "yves", "password456")
        assert r.status_code == 200, r.text
        r = await http.get("/api/v1/admin/workgroups", headers=bearer(r.cookies[SESSION_COOKIE]))
        assert [(w["slug"], w["members"]) for w in r.json()] == [("sales", ["xavier"])]


async def test_cli_create_user_failures(tmp_path: Path) -> None:
    data = str(settings_for(tmp_path).data_dir)
    base = ["admin", "create-user", "--role", "agent", "--password-stdin", "--data-dir", data]

    result = await cli([*base, "--username", "xavier", "--workgroup", "nope"], "password123\n")
    assert result.exit_code != 0
    assert "Error: no workgroup 'nope'" in result.output

    result = await cli([*base, "--username", "xavier"], "short\n")
    assert result.exit_code != 0
    assert "at least 8 characters" in result.output

    result = await cli([*base, "--username", "Xavier"], "password123\n")
    assert result.exit_code != 0
    assert "username" in result.output

    result = await cli([*base, "--username", "xavier", "--role", "owner"], "password123\n")
    assert result.exit_code == 2
    assert "owner" in result.output

    # Nothing was half-created by the failures: the name is still free.
    result = await cli([*base, "--username", "xavier"], "password123\n")
    assert result.exit_code == 0, (result.output, result.exception)
    result = await cli([*base, "--username", "xavier"], "password123\n")
    assert result.exit_code != 0
    assert "taken" in result.output


def test_cli_serve_help_lists_every_option_with_its_environment_variable() -> None:
    result = run_cli(["serve", "--help"])
    assert result.exit_code == 0, (result.output, result.exception)
    text = " ".join(result.output.split())  # undo the line wrapping
    serve = main.commands["serve"]  # type: ignore[attr-defined]
    options = [p for p in serve.params if isinstance(p, click.Option) and p.name != "help"]
    assert len(options) >= 12
    for option in options:
        assert option.envvar == f"PARLEY_{option.name.upper()}", option.name
        for flag in option.opts:
            assert flag in text, flag
        assert f"[env: {option.envvar}" in text, option.envvar
    # Everything the server reads from PARLEY_* with an option is listed.
    for name in ["host", "port", "data_dir", "database_url", "redis_url", "allowed_origins"]:
        assert f"PARLEY_{name.upper()}" in text


async def test_cli_allowed_origins_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: Settings parsed the variable itself as JSON and every command failed.
    origins = "https://shop.example https://www.shop.example"
    data = str(settings_for(tmp_path).data_dir)
    result = await cli(["migrate", "--data-dir", data], PARLEY_ALLOWED_ORIGINS=origins)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "database is up to date" in result.output
    monkeypatch.setenv("PARLEY_ALLOWED_ORIGINS", origins)
    assert Settings(data_dir=tmp_path).allowed_origins == origins.split()
    assert settings_from({"allowed_origins": (origins,)}).allowed_origins == origins.split()
