"""Who is calling: the one place where requests become principals.

- ``Authorization: Bearer <token>``: a staff API token (no CSRF needed: browsers never send it
  on their own).
- ``X-Visitor-Token: <token>``: a visitor, for its one conversation.
- The ``parley_session`` cookie: a staff console session; writes must carry ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from parley.domain.access import Principal, Staff, StaffRole, require_role
from parley.domain.errors import Forbidden, Unauthenticated
from parley.services.auth import Authenticated, AuthService, csrf_matches
from parley.settings import Settings
from parley.web.headers import is_https
from parley.web.node import node_of

SESSION_COOKIE = "parley_session"
CSRF_HEADER = "X-CSRF-Token"
VISITOR_HEADER = "X-Visitor-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def secure_cookie(settings: Settings, request: Request) -> bool:
    """Mark the session cookie ``Secure``: when browsers reach Parley over https (the public
    URL, else this request), or when the ``secure_cookies`` setting forces it."""
    return settings.secure_cookies or is_https(settings, request.url.scheme)


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


async def staff_of_request(
    auth: AuthService, request: Request, *, enrolling: bool = False
) -> Authenticated:
    """``enrolling``: a session that may only enrol in two-factor sign-in is accepted too (the
    enrolment routes, ``/auth/me``, logout); everywhere else it is refused."""
    token = bearer(request.headers.get("authorization"))
    if token is not None:
        return await auth.authenticate(token, enrolling=enrolling)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise Unauthenticated("log in first, or send a bearer token")
    found = await auth.authenticate(cookie, enrolling=enrolling)
    if request.method not in _SAFE_METHODS and not csrf_matches(
        found.csrf_token, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden(f"missing or wrong {CSRF_HEADER} header")
    return found


# FastAPI dependencies: any principal, any staff member, an admin (of the request's node).


async def principal(request: Request) -> Principal:
    auth = node_of(request).auth
    visitor_token = request.headers.get(VISITOR_HEADER)
    if visitor_token is not None:
        return await auth.visitor(visitor_token)
    return (await staff_of_request(auth, request)).staff


async def staff(request: Request) -> Staff:
    return (await staff_of_request(node_of(request).auth, request)).staff


async def enrolling(request: Request) -> Authenticated:
    return await staff_of_request(node_of(request).auth, request, enrolling=True)


async def admin(request: Request) -> Staff:
    found = await staff_of_request(node_of(request).auth, request)
    return require_role(found.staff, StaffRole.ADMIN)


AnyPrincipal = Annotated[Principal, Depends(principal)]
AnyStaff = Annotated[Staff, Depends(staff)]
Admin = Annotated[Staff, Depends(admin)]
#: Any staff session, including one that may only enrol in two-factor sign-in.
Enrolling = Annotated[Authenticated, Depends(enrolling)]
