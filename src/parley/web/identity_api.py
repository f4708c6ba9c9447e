"""REST routes for verified customer identity: a workgroup's signing keys (admins), and, in
``parley demo`` only, a stand-in for the company's backend that signs the demo customer.

See ``docs/security.md`` ("Verified customer identity") for how a company signs its tokens.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from datetime import datetime, timedelta
from typing import Annotated

import jwt
from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from parley.bootstrap import Parley
from parley.domain.errors import NotFound
from parley.services.identity import ALGORITHM
from parley.web.api import ERRORS
from parley.web.node import Node
from parley.web.security import Admin

#: The customer the demo site's "signed in" page is about.
DEMO_CUSTOMER = {"sub": "cust-1042", "email": "dana@example.com", "name": "Dana Berg"}
DEMO_WORKGROUP = "sales"


class IdentityKeyOut(BaseModel):
    kid: str = Field(description="Put it in the `kid` header of the tokens signed with this key.")
    created_at: datetime


class NewIdentityKeyOut(IdentityKeyOut):
    secret: str = Field(
        description="The HS256 secret. Shown only now: keep it on the company's backend."
    )
    algorithm: str = ALGORITHM


class DemoIdentityOut(BaseModel):
    token: str


def router(*, demo: bool = False) -> APIRouter:
    """The routes, for every node: a handler reaches its own through ``parley: Node``."""
    api = APIRouter(responses=ERRORS)
    Kid = Annotated[str, Path(min_length=1, max_length=64)]
    keys = "/api/v1/admin/workgroups/{slug}/identity-keys"

    @api.get(keys, tags=["admin"])
    async def list_identity_keys(parley: Node, slug: str, admin: Admin) -> list[IdentityKeyOut]:
        """The workgroup's keys for identity tokens (never their secrets)."""
        found = await parley.identity.list_keys(admin, slug)
        return [IdentityKeyOut(kid=k.kid, created_at=k.created_at) for k in found]

    @api.post(keys, status_code=201, tags=["admin"])
    async def create_identity_key(
        parley: Node, slug: str, admin: Admin, response: Response
    ) -> NewIdentityKeyOut:
        """A new key with a secret made by the server, returned this once. Tokens signed with
        any of the workgroup's keys verify: add the new one, move the backend to it, then
        delete the old one."""
        key = await parley.identity.create_key(admin, slug)
        response.headers["Cache-Control"] = "no-store"
        return NewIdentityKeyOut(kid=key.kid, created_at=key.created_at, secret=key.secret)

    @api.delete(keys + "/{kid}", status_code=204, tags=["admin"])
    async def delete_identity_key(parley: Node, slug: str, kid: Kid, admin: Admin) -> None:
        """Tokens signed with this key stop verifying at once."""
        await parley.identity.delete_key(admin, slug, kid)

    if demo:

        @api.get("/demo/identity-token", include_in_schema=False)
        async def demo_identity(parley: Node, response: Response) -> DemoIdentityOut:
            # What a company's backend does for its signed-in customer (docs/security.md),
            # done here for the demo site only, with the key `parley demo` made for sales.
            token = await _demo_token(parley)
            response.headers["Cache-Control"] = "no-store"
            return DemoIdentityOut(token=token)

    return api


async def _demo_token(parley: Parley) -> str:
    async with parley.db.read() as tx:
        wg = await parley.stores.workgroups.workgroup_by_slug(tx, DEMO_WORKGROUP)
        found = [] if wg is None else await parley.stores.workgroups.list_identity_keys(tx, wg.id)
        kid = found[-1].kid if found else ""
        secret = (
            None
            if wg is None or not kid
            else await parley.stores.workgroups.identity_secret(tx, wg.id, kid)
        )
    if secret is None:
        raise NotFound("the demo has no identity key")
    expires = parley.clock.now() + timedelta(hours=1)
    return jwt.encode(
        {**DEMO_CUSTOMER, "exp": int(expires.timestamp())},
        secret,
        algorithm=ALGORITHM,
        headers={"kid": kid},
    )
