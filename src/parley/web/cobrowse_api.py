"""REST routes of co-browsing (``docs/protocol.md``, "Co-browsing"): the chat's agents push a
page and lead the customer ("follow me"); the customer (``X-Visitor-Token``) stops following;
admins list the sites pages may be pushed of. What they write is an entry of the conversation
(kind ``cobrowse``), delivered on the sockets like any other. Permissions: ``domain.access``;
the address rule: ``domain.cobrowse``.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parley.domain import cobrowse as policy
from parley.domain.access import Visitor
from parley.domain.conversation import MAX_CLIENT_ID_CHARS
from parley.domain.errors import Forbidden
from parley.protocol import CleanInput, EntryOut
from parley.web import limits
from parley.web.api import ERRORS, RATE_LIMITED
from parley.web.node import Node
from parley.web.security import Admin, AnyPrincipal


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", frozen=False)


# Loosely bounded here, so that an address over the limit gets the domain's answer.
_Url = Annotated[str, Field(min_length=1, max_length=4 * policy.MAX_URL_CHARS)]
_ClientId = Annotated[str, Field(min_length=1, max_length=MAX_CLIENT_ID_CHARS)]


class PushIn(_In):
    url: _Url = Field(description="An absolute http(s) address (see the address rule).")
    title: Annotated[str, Field(max_length=4 * policy.MAX_TITLE_CHARS)] = Field(
        "", description=f"A label for the card, at most {policy.MAX_TITLE_CHARS} characters."
    )
    client_id: _ClientId


class NavigateIn(_In):
    url: _Url
    client_id: _ClientId


class SitesIn(_In):
    sites: Annotated[list[Annotated[str, Field(max_length=600)]], Field(max_length=500)] = Field(
        description=f"Origins (https://shop.example[:port]), at most {policy.MAX_SITES}; "
        "replaces the list."
    )


class SitesOut(BaseModel):
    sites: list[str]


class CobrowseOut(BaseModel):
    """The chat's co-browsing, for the console's pane and a widget that reconnects."""

    following: bool
    #: The agent followed: participant key and display name (null when not following).
    by: str | None
    name: str
    #: The customer's site (the origin of the page the chat was opened on; empty if unknown)
    #: and the workgroup's allowed sites. For the chat's agents only (else null and []).
    customer_site: str | None = None
    allowed_sites: list[str] = Field(default_factory=list)


#: follow and unfollow: the entry written, or nothing when there was nothing to change.
ENTRY_OR_NONE: dict[int | str, dict[str, Any]] = {
    200: {"model": EntryOut, "description": "The entry written."},
    204: {"description": "Nothing to change: nothing written."},
}


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["cobrowse"])

    @api.get("/admin/workgroups/{slug}/cobrowse/sites")
    async def get_sites(parley: Node, slug: str, admin: Admin) -> SitesOut:
        return SitesOut(sites=await parley.cobrowse.sites(admin, slug))

    @api.put("/admin/workgroups/{slug}/cobrowse/sites")
    async def set_sites(parley: Node, slug: str, body: SitesIn, admin: Admin) -> SitesOut:
        return SitesOut(sites=await parley.cobrowse.set_sites(admin, slug, body.sites))

    @api.get("/conversations/{conversation_id}/cobrowse")
    async def state(parley: Node, conversation_id: str, who: AnyPrincipal) -> CobrowseOut:
        """Whoever reads the chat (its visitor with their token); the sites for its agents."""
        found = await parley.cobrowse.state(who, conversation_id)
        out = CobrowseOut(following=found.following, by=found.by, name=found.name)
        if not isinstance(who, Visitor):
            try:
                site, sites = await parley.cobrowse.options(who, conversation_id)
            except Forbidden:  # a reader who is not one of its agents: the state alone
                return out
            out.customer_site, out.allowed_sites = site, sites
        return out

    @api.post("/conversations/{conversation_id}/cobrowse/push")
    async def push(parley: Node, conversation_id: str, body: PushIn, who: AnyPrincipal) -> EntryOut:
        return await parley.cobrowse.push(
            who, conversation_id, body.url, body.title, body.client_id
        )

    @api.post(
        "/conversations/{conversation_id}/cobrowse/follow",
        responses={**ENTRY_OR_NONE, **RATE_LIMITED},
    )
    async def follow(
        parley: Node, conversation_id: str, who: AnyPrincipal, request: Request
    ) -> Response:
        """200 with the ``follow`` entry; 204 when follow me was already on for this agent."""
        await limits.check_send_limit(parley.limiter, parley.rules.send, request, conversation_id)
        entry = await parley.cobrowse.follow(who, conversation_id)
        return _entry_or_none(entry)

    @api.post("/conversations/{conversation_id}/cobrowse/navigate", responses=RATE_LIMITED)
    async def navigate(
        parley: Node, conversation_id: str, body: NavigateIn, who: AnyPrincipal, request: Request
    ) -> EntryOut:
        """Counted with the chat's messages (the send limit)."""
        await limits.check_send_limit(parley.limiter, parley.rules.send, request, conversation_id)
        return await parley.cobrowse.navigate(who, conversation_id, body.url, body.client_id)

    @api.post(
        "/conversations/{conversation_id}/cobrowse/unfollow",
        responses={**ENTRY_OR_NONE, **RATE_LIMITED},
    )
    async def unfollow(
        parley: Node, conversation_id: str, who: AnyPrincipal, request: Request
    ) -> Response:
        """The chat's agents, or its customer: 200 with the ``unfollow`` entry; 204 when
        nobody was following."""
        await limits.check_send_limit(parley.limiter, parley.rules.send, request, conversation_id)
        return _entry_or_none(await parley.cobrowse.unfollow(who, conversation_id))

    return api


def _entry_or_none(entry: EntryOut | None) -> Response:
    if entry is None:
        return Response(status_code=204)
    return Response(entry.model_dump_json(), media_type="application/json")
