"""The WebSocket endpoint ``/ws``, for visitors and staff alike (see ``docs/protocol.md``).

Ordinary mistakes (bad JSON, an unknown type, a field out of range, a forbidden action) answer
with an ``error`` message and the socket stays open. Protocol violations close it:

- 1003 a binary frame; 1007 invalid UTF-8 and 1009 a frame over the size limit (both closed
  by the WebSocket layer itself); 1008 no ``hello`` first, or authentication failed;
- 1012 the server is shutting down (after a ``reconnect`` message); 1013 the client could not
  keep up with its messages, its address has too many sockets open, or the node has too many
  hellos in flight (after an ``error`` ``busy`` with ``retry_after``). Either way the client
  reconnects (with backoff) and resumes with its cursors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from parley import logs
from parley.bootstrap import Parley
from parley.domain.access import Principal, Staff, StaffRole, Visitor, require_role
from parley.domain.errors import Conflict, DomainError, Unauthenticated
from parley.metrics import ConnectionKind
from parley.protocol import (
    AcceptInvitation,
    AcceptOffer,
    ArchiveNoticeOut,
    Barge,
    CancelInvitation,
    DeclineInvitation,
    DeclineOffer,
    End,
    Error,
    Follow,
    Hello,
    Idle,
    Invite,
    Leave,
    Monitor,
    Ok,
    Ping,
    Pong,
    SessionOut,
    SetPresence,
    Supervise,
    Synced,
    TakeOver,
    Typing,
    Unmonitor,
    Unsupervise,
    Welcome,
    Whisper,
    client_message,
)
from parley.protocol import Send as SendMessage
from parley.realtime.hub import Catchup, ClientConnection
from parley.services.auth import hash_token
from parley.services.chat import Resume
from parley.services.limits import ConnectionLimits
from parley.settings import Settings
from parley.web import strict_json
from parley.web.limits import client_ip
from parley.web.security import SESSION_COOKIE

log = logging.getLogger(__name__)

CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
#: Too many sockets from one address (``ws_connections_per_ip``), or too many hellos in
#: flight on this node (``max_hellos_in_flight``, after an error ``busy``): try again later.
CLOSE_TRY_LATER = 1013
#: Conversations one connection follows at most: hello's 1,000 cursors plus the open chats.
MAX_FOLLOWED = 2000
#: What a ``busy`` error asks the client to wait, at least, before it reconnects (it adds a
#: random share of its own backoff, so that refused clients do not come back together).
BUSY_RETRY_AFTER_SECS = 1


def own_origin(websocket: WebSocket, settings: Settings) -> str:
    """The server's own origin: that of ``public_url`` when it is set (behind a proxy), else
    the scheme and ``Host`` header of this request."""
    public = settings.public_origin()
    if public is not None:
        return public
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return f"{scheme}://{websocket.headers.get('host', '')}"


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """Whether the upgrade may proceed: no ``Origin`` (not a browser), the server's own, or an
    allowed site's. Which credentials each origin may use is decided at ``hello``."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    return origin == own_origin(websocket, settings) or origin in settings.allowed_origins


def cookie_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """A session cookie is ambient: the browser sends it whichever page opened the socket. So a
    cookie authenticates only a socket opened by Parley's own pages (an ``Origin`` equal to the
    server's own); a missing ``Origin`` is refused too. Visitor tokens and bearer tokens are
    sent on purpose, and are accepted from every allowed origin."""
    return websocket.headers.get("origin") == own_origin(websocket, settings)


class Session:
    """One client's WebSocket: reads, handles in order, and writes through its outbox."""

    def __init__(self, parley: Parley, websocket: WebSocket) -> None:
        self.parley = parley
        self.ws = websocket
        self.conn: ClientConnection | None = None
        self._token_hash: str | None = None
        #: Made on the first message (full buckets then are the same as full buckets now):
        #: most visitors' sockets only listen.
        self._limits: ConnectionLimits | None = None
        #: Whether this socket holds one of the node's hello slots (``_admit``).
        self._in_hello = False

    async def run(self) -> None:
        if not origin_allowed(self.ws, self.parley.settings):
            await self.ws.close(CLOSE_POLICY, "origin not allowed")
            return
        address = client_ip(self.ws.scope)
        if not self.parley.ws_connections.acquire(address):
            self.parley.limiter.refused("ws_connections_per_ip")
            log.info("limit ws_connections_per_ip reached")
            await self.ws.accept()
            await self.ws.close(CLOSE_TRY_LATER, "too many connections from your address")
            return
        try:
            await self._run()
        finally:
            self.parley.ws_connections.release(address)

    async def _run(self) -> None:
        await self.ws.accept()
        try:
            await self._session()
        finally:
            self._hello_done()

    async def _session(self) -> None:
        resume: Resume | None = None
        try:
            hello = await self._hello()
            self._admit()
            if hello.visitor_token is not None:
                conn = await self._visitor_hello(hello, hello.visitor_token)
                self._hello_done()
            else:
                staff = await self._authenticate(hello)
                resume = await self._resume(staff, hello)
                conn = self._connection(staff)
        except _Close as close:
            self._hello_done()
            await self._send_now(
                Error(code=close.code_name, message=close.reason, retry_after=close.retry_after)
            )
            await self.ws.close(close.code, close.reason)
            return
        except WebSocketDisconnect:
            return
        principal = conn.principal
        conn.start(self.ws)
        kind: ConnectionKind = "visitor" if isinstance(principal, Visitor) else "staff"
        self.parley.metrics.connection_opened(kind)
        try:
            if resume is not None:
                await self._start(conn, resume)
            self._hello_done()
            if isinstance(principal, Visitor):
                # After ``synced``: the hello's one read is not held up by this write.
                await self.parley.visitor_presence.connected(principal, conn.id)
            await self._read(conn)
        except WebSocketDisconnect:
            pass
        finally:
            self.parley.metrics.connection_closed(kind)
            self.parley.hub.detach(conn)
            self.parley.wallboard.detach(conn)
            if isinstance(principal, Staff):
                with contextlib.suppress(Exception):
                    # Before its ``connections`` row goes (which takes its monitors with it),
                    # so that the chats it watched can say who still watches them.
                    await self.parley.supervision.detach(conn.id)
                with contextlib.suppress(Exception):
                    await self.parley.presence.disconnected(principal, conn.id)
                self.parley.maintenance.wake.set()
            else:
                with contextlib.suppress(Exception):
                    await self.parley.visitor_presence.disconnected(principal, conn.id)
                self.parley.maintenance.wake.set()
            await conn.stop()
            conn.mark_closed()

    def _admit(self) -> None:
        """Admission control: take one of the node's ``max_hellos_in_flight`` slots for this
        hello (its authentication, resume and snapshot, up to ``synced``), or refuse it at
        once with ``busy``: a saturated node answers quickly instead of queueing hellos until
        they time out, and the client comes back after ``retry_after`` plus its own jitter."""
        if not self.parley.hellos.acquire():
            self.parley.limiter.refused("max_hellos_in_flight")
            log.debug("limit max_hellos_in_flight reached")
            raise _Close(
                CLOSE_TRY_LATER,
                "busy",
                "the server is busy; reconnect after retry_after seconds",
                retry_after=BUSY_RETRY_AFTER_SECS,
            )
        self._in_hello = True

    def _hello_done(self) -> None:
        """The hello is answered (or failed): its slot is free for the next one."""
        if self._in_hello:
            self._in_hello = False
            self.parley.hellos.release()

    def _connection(self, principal: Principal) -> ClientConnection:
        # The id the logs carry for this socket (web.request_context) names it in the hub too.
        conn = ClientConnection(logs.connection_id.get() or secrets.token_hex(8), principal)
        conn.token_hash = self._token_hash
        self.conn = conn
        return conn

    async def _visitor_hello(self, hello: Hello, token: str) -> ClientConnection:
        """A visitor's whole hello with one read of the database (``ChatService.
        resume_visitor``): the token's signature is checked first (no I/O); the connection is
        registered with the hub, then the conversation, the entries after the cursor and the
        queue position are read in one transaction, and the token's expiry is checked on
        the conversation read. Every frame up to ``synced`` is queued before the socket gets
        them (the welcome first of all: nothing live can overtake it); a refused token
        leaves nothing registered and nothing sent but the error."""
        parley = self.parley
        try:
            visitor = parley.auth.signed_visitor(token)
        except Unauthenticated as exc:
            raise _Close(CLOSE_POLICY, exc.code, exc.message) from None
        conn = self._connection(visitor)
        conn.send(self._welcome(visitor))
        cursors = dict(hello.cursors)

        async def read() -> Catchup:
            found = await parley.chat.resume_visitor(visitor, cursors)
            if parley.auth.visitor_expired(found.state.ended_at):
                raise Unauthenticated("this visitor token has expired: its chat ended")
            return found

        parley.hub.attach(conn)
        try:
            await parley.hub.follow_read(conn, visitor.conversation_id, read)
        except BaseException as exc:
            parley.hub.detach(conn)
            await conn.stop()
            if isinstance(exc, Unauthenticated):
                raise _Close(CLOSE_POLICY, exc.code, exc.message) from None
            raise
        conn.send(Synced())
        return conn

    def _welcome(self, principal: Principal, archive: ArchiveNoticeOut | None = None) -> Welcome:
        parley = self.parley
        if isinstance(principal, Visitor):
            session = SessionOut(kind="visitor", conversation_id=principal.conversation_id)
        else:
            session = SessionOut(
                kind="staff",
                user_id=principal.user_id,
                username=principal.username,
                name=principal.display_name,
                role=principal.role.value,
            )
        return Welcome(
            session=session,
            node_id=parley.node_id,
            heartbeat_secs=parley.settings.heartbeat_secs,
            max_message_chars=parley.settings.max_message_chars,
            server_time=parley.clock.now(),
            idle_away_secs=parley.presence.idle_away.total_seconds()
            if isinstance(principal, Staff)
            else 0,
            archive=archive,
        )

    async def _send_now(self, message: Error) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send_text(message.model_dump_json())

    async def _hello(self) -> Hello:
        try:
            raw = await asyncio.wait_for(self.ws.receive(), self.parley.settings.hello_timeout_secs)
        except TimeoutError:
            raise _Close(CLOSE_POLICY, "protocol_error", "no hello received") from None
        if raw["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(raw.get("code", 1000))
        text = raw.get("text")
        if text is None:
            raise _Close(CLOSE_UNSUPPORTED, "protocol_error", "only text frames are accepted")
        try:
            strict_json.check(text)
        except strict_json.BadJson as exc:
            raise _Close(
                CLOSE_POLICY, "protocol_error", f"the first message must be hello ({exc})"
            ) from None
        try:
            message = client_message.validate_json(text)
        except ValidationError:
            raise _Close(
                CLOSE_POLICY, "protocol_error", "the first message must be hello"
            ) from None
        if not isinstance(message, Hello):
            raise _Close(CLOSE_POLICY, "protocol_error", "the first message must be hello")
        return message

    async def _authenticate(self, hello: Hello) -> Staff:
        """Staff: a bearer token in ``hello``, else the session cookie (visitors:
        ``_visitor_hello``)."""
        auth = self.parley.auth
        try:
            token = hello.token
            if token is None:
                token = self.ws.cookies.get(SESSION_COOKIE)
                if token is not None and not cookie_allowed(self.ws, self.parley.settings):
                    raise _Close(
                        CLOSE_POLICY,
                        "forbidden",
                        "the session cookie is accepted only from this server's own pages; "
                        "send a token in hello",
                    )
            if token is None:
                raise Unauthenticated("send a visitor_token or a token, or log in first")
            staff = (await auth.authenticate(token)).staff
            self._token_hash = hash_token(token)
            return staff
        except Unauthenticated as exc:
            raise _Close(CLOSE_POLICY, exc.code, exc.message) from None

    async def _resume(self, principal: Principal, hello: Hello) -> Resume:
        try:
            return await self.parley.chat.resume(principal, dict(hello.cursors))
        except Unauthenticated as exc:  # a signed token for a conversation that is gone
            raise _Close(CLOSE_POLICY, exc.code, exc.message) from None

    async def _start(self, conn: ClientConnection, resume: Resume) -> None:
        parley = self.parley
        principal = conn.principal
        notice = await parley.archive.staff_notice() if isinstance(principal, Staff) else None
        conn.send(self._welcome(principal, None if notice is None else notice.out()))
        parley.hub.attach(conn)
        if isinstance(principal, Staff):
            await parley.presence.connected(principal, conn.id)
        await self._follow(conn, resume)
        for message in await parley.snapshots.ephemeral(principal):
            conn.send(message)
        conn.send(Synced())

    async def _follow(self, conn: ClientConnection, resume: Resume) -> None:
        """Each refused cursor's ``error``, then each conversation followed from its cursor."""
        for refused in resume.errors:
            conn.send(
                Error(
                    code=refused.error.code,
                    message=refused.error.message,
                    conversation_id=refused.conversation_id,
                )
            )
        for sub in resume.subscriptions:
            await self.parley.hub.follow(conn, sub.conversation_id, sub.cursor, announce=sub.sent)

    async def _read(self, conn: ClientConnection) -> None:
        while conn.close_with is None:
            raw = await self.ws.receive()
            if raw["type"] == "websocket.disconnect":
                return
            text = raw.get("text")
            if text is None:
                conn.send(Error(code="protocol_error", message="only text frames are accepted"))
                conn.request_close(CLOSE_UNSUPPORTED, "only text frames are accepted")
                return
            await self._handle(conn, text)

    async def _handle(self, conn: ClientConnection, text: str) -> None:
        try:
            # Depth and duplicate keys first: neither may reach a parser that recurses or that
            # lets the last of two "type" keys win.
            strict_json.check(text)
        except strict_json.BadJson as exc:
            conn.send(Error(code="bad_json", message=f"the message is refused: {exc}"))
            return
        try:
            message = client_message.validate_json(text)
        except ValidationError as exc:
            conn.send(_validation_error(exc, text))
            return
        ref = getattr(message, "ref", None)
        if self._over_limit(conn, message, ref):
            return
        try:
            reply = await self._dispatch(conn, message)
        except DomainError as exc:
            conn.send(Error(ref=ref, code=exc.code, message=exc.message))
            return
        except Exception:
            log.exception("error handling %s", type(message).__name__)
            conn.send(Error(ref=ref, code="internal", message="something went wrong; retry"))
            return
        if reply is not None:
            conn.send(reply)

    def _over_limit(self, conn: ClientConnection, message: Any, ref: str | None) -> bool:
        """Typing over its limit is dropped (coalesced: a later one says the same); any other
        message over its limit gets ``rate_limited`` with ``retry_after``, and so does every
        later one until then, so that the client sends them again in order."""
        now = self.parley.clock.now()
        limits = self._limits
        if limits is None:
            limits = self._limits = ConnectionLimits(self.parley.rules, now)
        if isinstance(message, Typing):
            if limits.typing(now):
                return False
            self.parley.limiter.refused("ws_typing")  # dropped, silently
            return True
        wait = limits.message(now)
        if wait:
            self.parley.limiter.refused("ws_message")
            log.info("limit ws_message reached")
            conn.send(
                Error(
                    ref=ref,
                    code="rate_limited",
                    message=f"too many messages; send this one again in {wait} s",
                    retry_after=wait,
                )
            )
        return wait > 0

    async def _dispatch(self, conn: ClientConnection, message: Any) -> Ok | Pong | Error | None:
        parley = self.parley
        who = conn.principal
        match message:
            case Ping(ref=ref):
                return Pong(ref=ref)
            case SendMessage():
                await self._send(conn, message)
                return None
            case Typing(conversation_id=cid, active=active):
                await parley.chat.typing(who, cid, active)
                return None
            case SetPresence(ref=ref, presence=presence, status_text=status_text, confirm=confirm):
                await parley.presence.set(_staff(who), presence, status_text, confirm=confirm)
                return Ok(ref=ref)
            case Idle(ref=ref, idle=idle):
                assert self.conn is not None
                await parley.presence.idle(_staff(who), self.conn.id, idle)
                return None if ref is None else Ok(ref=ref)
            case AcceptOffer(ref=ref, offer_id=offer_id):
                await parley.routing.accept(_staff(who), offer_id)
                return Ok(ref=ref)
            case DeclineOffer(ref=ref, offer_id=offer_id):
                await parley.routing.decline(_staff(who), offer_id)
                return Ok(ref=ref)
            case End(ref=ref, conversation_id=cid, outcome=outcome):
                await parley.chat.end(who, cid, outcome)
                return Ok(ref=ref)
            case Invite(ref=ref, conversation_id=cid, user_id=user_id, note=note):
                await parley.invitations.invite(_staff(who), cid, user_id, note)
                return Ok(ref=ref)
            case AcceptInvitation(ref=ref, invitation_id=invitation_id):
                await parley.invitations.accept(_staff(who), invitation_id)
                return Ok(ref=ref)
            case DeclineInvitation(ref=ref, invitation_id=invitation_id):
                await parley.invitations.decline(_staff(who), invitation_id)
                return Ok(ref=ref)
            case CancelInvitation(ref=ref, invitation_id=invitation_id):
                await parley.invitations.cancel(_staff(who), invitation_id)
                return Ok(ref=ref)
            case Leave(ref=ref, conversation_id=cid):
                await parley.invitations.leave(_staff(who), cid)
                return Ok(ref=ref)
            case Supervise(ref=ref):
                await parley.wallboard.subscribe(conn)
                return Ok(ref=ref)
            case Unsupervise(ref=ref):
                parley.wallboard.unsubscribe(conn)
                return Ok(ref=ref)
            case Monitor(ref=ref, conversation_id=cid, cursor=cursor):
                await parley.supervision.monitor(who, conn.id, cid)
                await parley.hub.follow(conn, cid, cursor)
                return Ok(ref=ref)
            case Unmonitor(ref=ref, conversation_id=cid):
                if await parley.supervision.unmonitor(who, conn.id, cid):
                    await parley.hub.unfollow(conn, cid)
                return Ok(ref=ref)
            case Whisper():
                await self._whisper(conn, message)
                return None
            case Barge(ref=ref, conversation_id=cid):
                await parley.supervision.barge(who, cid)
                return Ok(ref=ref)
            case TakeOver(ref=ref, conversation_id=cid):
                await parley.supervision.take_over(who, cid)
                return Ok(ref=ref)
            case Follow(ref=ref, cursors=cursors):
                fresh = cursors.keys() - conn.cursors.keys()
                if len(conn.cursors) + len(fresh) > MAX_FOLLOWED:
                    raise Conflict(
                        f"a connection follows at most {MAX_FOLLOWED} conversations: "
                        "reconnect with the cursors you need"
                    )
                if fresh:  # one already followed is left as it is
                    wanted = {cid: cursors[cid] for cid in fresh}
                    await self._follow(
                        conn, await parley.chat.resume(who, wanted, only_cursors=True)
                    )
                return Ok(ref=ref)
            case Hello():
                return Error(code="protocol_error", message="hello was already received")
        return Error(code="unknown_type", message="unknown message type")  # pragma: no cover

    async def _send(self, conn: ClientConnection, message: SendMessage) -> None:
        """One frame back: the ``ack`` carrying the entry, where the entry would have gone in
        this connection's stream (``Hub.answer``); the other connections get the ``entry``."""
        hub, cid, client_id = self.parley.hub, message.conversation_id, message.client_id
        hub.expect_ack(conn, cid, client_id, message.ref)
        try:
            entry = await self.parley.chat.send(
                conn.principal,
                cid,
                client_id,
                message.text,
                private=message.private,
                confirm=message.confirm,
            )
        except BaseException:
            hub.forget_ack(conn, cid, client_id)
            raise
        await hub.answer(conn, cid, client_id, entry)

    async def _whisper(self, conn: ClientConnection, message: Whisper) -> None:
        """Answered like a send: the ``ack`` carries the entry, in its place in the stream of
        a socket that follows the chat (a watching one does)."""
        hub, cid, client_id = self.parley.hub, message.conversation_id, message.client_id
        hub.expect_ack(conn, cid, client_id, message.ref)
        try:
            entry = await self.parley.supervision.whisper(
                conn.principal, cid, client_id, message.text, confirm=message.confirm
            )
        except BaseException:
            hub.forget_ack(conn, cid, client_id)
            raise
        await hub.answer(conn, cid, client_id, entry)


class _Close(Exception):
    def __init__(
        self, code: int, code_name: str, reason: str, retry_after: int | None = None
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.code_name = code_name
        self.reason = reason
        self.retry_after = retry_after


def _staff(who: Principal) -> Staff:
    return require_role(who, StaffRole.AGENT)


def _validation_error(exc: ValidationError, text: str) -> Error:
    ref = None
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        candidate = json.loads(text).get("ref")
        ref = candidate if isinstance(candidate, str) and len(candidate) <= 64 else None
    kinds = {e["type"] for e in exc.errors()}
    if "json_invalid" in kinds:
        return Error(ref=ref, code="bad_json", message="the message is not valid JSON")
    if kinds & {"union_tag_invalid", "union_tag_not_found", "model_attributes_type"}:
        return Error(ref=ref, code="unknown_type", message="unknown or missing message type")
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"][1:]) or "message"
    return Error(ref=ref, code="invalid_message", message=f"{where}: {first['msg']}")
