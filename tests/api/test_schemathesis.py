"""Schemathesis against the OpenAPI document: every operation, with data it generates from the
document (valid and invalid), through a node on a random port, as an admin (bearer token). No
response may be a server error, and every response must be documented (its status and content
type) and match its schema.

Bounded and deterministic: ``EXAMPLES`` cases an operation, derandomized (a fixed seed), no
deadline, no example database; SQLite only. The node runs in the test's event loop; the
generated requests go out from a worker thread (``requests``, as schemathesis sends them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import make_world
from tests.support import World

from parley.domain.access import StaffRole

#: Cases per operation, valid and invalid together; about 60 operations, a few seconds in all.
EXAMPLES = 5
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Ends the admin's own session, so every later case would be 401: tested in test_auth_admin.
SKIPPED = {("POST", "/api/v1/auth/logout")}


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[World]:
    """A node on SQLite with something in it: a workgroup with a rule, an admin, an agent, a
    chat and a left message, so that listings return real rows to check."""
    async for world in make_world("sqlite", tmp_path):
        await world.add_workgroup("sales")
        await world.add_staff("root", StaffRole.ADMIN)
        await world.add_staff("alice", workgroups=["sales"])
        await world.open_chat(question="Where is my invoice?", page="https://shop.example/")
        async with world.staff_http("root") as http:
            rule = {"condition": {"field": "page", "op": "matches", "value": "/de/"}}
            r = await http.put(
                "/api/v1/admin/workgroups/sales/rules",
                json={"rules": [{**rule, "queue": "default"}]},
            )
            assert r.status_code == 200, r.text
        async with world.node.http() as http:
            r = await http.post(
                "/api/v1/workgroups/sales/messages",
                json={"name": "Zoe", "email": "zoe@example.com", "message": "Call me"},
            )
            assert r.status_code == 201, r.text
        yield world


def fuzz(
    base_url: str,
    token: str,
    only: str | None = None,
    tamper: Callable[[dict[str, Any]], None] | None = None,
) -> list[str]:
    """Run every operation (or the one whose path is ``only``) against the node's OpenAPI
    document (changed by ``tamper`` first, if given); the failures, one report each."""
    document = requests.get(f"{base_url}/openapi.json", timeout=10).json()
    if tamper is not None:
        tamper(document)
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            method, path = operation.method.upper(), operation.path
            if (method, path) in SKIPPED or (only is not None and path != only):
                continue
            strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
                GenerationMode.NEGATIVE
            )

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def check(case: Any) -> None:
                case.call_and_validate(
                    base_url=base_url, session=session, headers=headers, checks=CHECKS, timeout=10
                )

            try:
                check()
            # Schemathesis reports failures as a BaseExceptionGroup, which Exception misses.
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{method} {path}:\n{exc}"[:3000])
    return failures


async def test_every_operation_answers_as_documented(seeded: World) -> None:
    failures = await asyncio.to_thread(fuzz, seeded.node.base_url, seeded.tokens["root"])
    assert not failures, "\n\n".join(failures)


def _demand_a_field_nobody_sends(document: dict[str, Any]) -> None:
    """GET /api/v1/messages documented as listing items with a required field they lack."""
    ok = document["paths"]["/api/v1/messages"]["get"]["responses"]["200"]
    ok["content"]["application/json"]["schema"] = {
        "type": "array",
        "items": {"type": "object", "required": ["no_such_field"]},
    }


async def test_the_fuzzer_catches_a_response_the_document_does_not_describe(
    seeded: World,
) -> None:
    """Not vacuous: a response that does not match its documented schema is reported."""
    failures = await asyncio.to_thread(
        fuzz,
        seeded.node.base_url,
        seeded.tokens["root"],
        "/api/v1/messages",
        _demand_a_field_nobody_sends,
    )
    assert len(failures) == 1 and "no_such_field" in failures[0], failures
