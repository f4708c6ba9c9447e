"""Helpers for verified customer identity in tests: a workgroup key, and tokens signed the way a
company's backend signs them (docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt
from tests.support import World


@dataclass(frozen=True)
class Key:
    kid: str
    secret: str


async def new_key(world: World, slug: str = "sales") -> Key:
    """A new identity key of the workgroup (made as the operator would: no admin needed)."""
    key = await world.parley.identity.create_key(None, slug)
    return Key(key.kid, key.secret)


def sign(
    world: World,
    key: Key,
    sub: str = "cust-1",
    *,
    expires_in: float = 600,
    headers: dict[str, Any] | None = None,
    algorithm: str = "HS256",
    **claims: Any,
) -> str:
    """An identity token for customer ``sub``, valid ``expires_in`` seconds from the fake now."""
    payload: dict[str, Any] = {
        "sub": sub,
        "email": f"{sub}@example.com",
        "name": sub.capitalize(),
        "exp": int(world.clock.now().timestamp() + expires_in),
        **claims,
    }
    return jwt.encode(
        payload, key.secret, algorithm=algorithm, headers={"kid": key.kid, **(headers or {})}
    )
