"""Co-browsing (issue 13), first slice: the agent pushes a page, and "follow me".

Which addresses an agent may send a customer to (``check_url``), the workgroup's list of
allowed sites (``normalize_site``), and the entries of the conversation that carry it all: one
entry kind, ``cobrowse``, whose ``body["action"]`` says what happened:

- ``push``: a page for the customer to open with one click (a card in the widget);
- ``follow``: the agent turned "follow me" on;
- ``navigate``: while following, the agent opened a page: the customer's page goes there;
- ``unfollow``: following stopped (``by``: ``agent`` or ``customer``).

The live view (a later slice) adds actions of its own to the same kind (a request, the
customer's answer, its end); a client shows an action it does not know as nothing.

**Same site** means the same *origin* as the host page the chat was opened on (its
``metadata["page"]``, which the loader took from ``location.href``): the same scheme, the same
host (compared in its ASCII, punycode form, lower case) and the same port (a default port
counts as none). Not the registrable domain: ``shop.example`` and ``www.shop.example`` are two
sites. A same-site page opens in the host page itself (``target`` ``same``); a page on one of
the workgroup's allowed sites opens in a new tab (``new_tab``); anything else is refused with
``url_refused`` and nothing is stored.

Each address is rebuilt from its parsed parts (``check_url`` returns it), so what is stored,
shown and navigated to is exactly what was checked: a URL that parses differently in Python
and in browsers (a backslash, whitespace, control characters, userinfo) is refused before
that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

from parley.domain.conversation import Conversation, Entry, EntryKind, Kind, Status, _append
from parley.domain.errors import Conflict, InvalidInput

#: The longest address an agent may push (characters, after rebuilding).
MAX_URL_CHARS = 2048
#: How many sites a workgroup may allow.
MAX_SITES = 50
#: The entry's ``body["title"]``: an optional label the agent gives a pushed page.
MAX_TITLE_CHARS = 200

_SCHEMES = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# What a browser would read differently from ``urlsplit``, or silently drop.
_UNSAFE = re.compile(r"[\\\s\x00-\x1f\x7f]")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


class Reason(StrEnum):
    """Why an address was refused: ``details.reason`` of ``url_refused``."""

    MALFORMED = "malformed"
    SCHEME = "scheme"
    USERINFO = "userinfo"
    HOST = "host"
    PORT = "port"
    TOO_LONG = "too_long"
    NOT_ALLOWED = "not_allowed"


class UrlRefused(InvalidInput):
    """An address an agent may not send a customer to (nothing is stored)."""

    code = "url_refused"

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason = reason


class Target(StrEnum):
    SAME = "same"  # the host page goes there
    NEW_TAB = "new_tab"  # another allowed site: a new tab


class Action(StrEnum):
    PUSH = "push"
    FOLLOW = "follow"
    NAVIGATE = "navigate"
    UNFOLLOW = "unfollow"


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int  # the default port of the scheme when none was given

    def __str__(self) -> str:
        default = _SCHEMES[self.scheme] == self.port
        return f"{self.scheme}://{self.host}" + ("" if default else f":{self.port}")


@dataclass(frozen=True, slots=True)
class Checked:
    url: str
    target: Target


def _host(raw: str) -> str:
    """The host in its ASCII form, lower case; IDN labels as punycode."""
    if not raw or raw.endswith("."):
        raise UrlRefused("the address needs a host without a trailing dot", Reason.HOST)
    if raw.startswith("["):
        raise UrlRefused("addresses by IPv6 literal are not supported", Reason.HOST)
    try:
        ascii_host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UrlRefused("the address's host is not a valid name", Reason.HOST) from None
    if _IPV4.match(ascii_host):
        if any(int(part) > 255 for part in ascii_host.split(".")):
            raise UrlRefused("the address's host is not a valid IP address", Reason.HOST)
        return ascii_host
    labels = ascii_host.split(".")
    if not all(_LABEL.match(label) for label in labels) or ascii_host.replace(".", "").isdigit():
        raise UrlRefused("the address's host is not a valid name", Reason.HOST)
    return ascii_host


def _parse(url: str) -> tuple[Origin, str]:
    """The origin and the rest (path, query, fragment) of an absolute http(s) address."""
    if len(url) > MAX_URL_CHARS:
        raise UrlRefused(f"an address is at most {MAX_URL_CHARS} characters", Reason.TOO_LONG)
    if _UNSAFE.search(url):
        raise UrlRefused(
            "the address has a space, a backslash or a control character", Reason.MALFORMED
        )
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in _SCHEMES:
        raise UrlRefused("only http and https addresses can be sent", Reason.SCHEME)
    parts = urlsplit(url)
    if not url[len(scheme) + 1 :].startswith("//"):
        raise UrlRefused("the address must be absolute (https://...)", Reason.MALFORMED)
    if "@" in parts.netloc:
        raise UrlRefused("an address with a user name or password is refused", Reason.USERINFO)
    netloc = parts.netloc
    host_raw, port_raw = netloc, ""
    if not netloc.startswith("[") and ":" in netloc:
        host_raw, port_raw = netloc.rsplit(":", 1)
    host = _host(host_raw)
    port = _SCHEMES[scheme]
    if port_raw:
        if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
            raise UrlRefused("the address's port is not a number from 1 to 65535", Reason.PORT)
        port = int(port_raw)
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    rest = path
    if parts.query:
        rest += "?" + quote(parts.query, safe=_QUERY_SAFE)
    if parts.fragment:
        rest += "#" + quote(parts.fragment, safe=_QUERY_SAFE)
    return Origin(scheme, host, port), rest


def origin_of(url: str) -> Origin | None:
    """The origin of an address (the host page's), or None if it is not a valid http(s) one."""
    try:
        return _parse(url)[0]
    except UrlRefused:
        return None


def normalize_site(site: str) -> str:
    """An allowed site as stored: its origin (``https://shop.example``, ``:port`` when not the
    default). A path, query or fragment is refused, so that nobody thinks a list entry allows
    one path only."""
    origin, rest = _parse(site.strip())
    if rest != "/":
        raise UrlRefused(
            "an allowed site is an origin (https://shop.example), without a path", Reason.MALFORMED
        )
    return str(origin)


def normalize_sites(sites: list[str]) -> list[str]:
    if len(sites) > MAX_SITES:
        raise InvalidInput(f"a workgroup allows at most {MAX_SITES} sites")
    out: list[str] = []
    for site in sites:
        n = normalize_site(site)
        if n not in out:
            out.append(n)
    return out


def check_url(url: str, host_page: str, allowed: list[str]) -> Checked:
    """The address rebuilt from its checked parts, and where it opens: in the host page
    (the same origin as ``host_page``), or in a new tab (an origin in ``allowed``, which
    ``normalize_sites`` wrote). Raises ``UrlRefused`` otherwise."""
    origin, rest = _parse(url.strip())
    rebuilt = f"{origin}{rest}"
    if len(rebuilt) > MAX_URL_CHARS:
        raise UrlRefused(f"an address is at most {MAX_URL_CHARS} characters", Reason.TOO_LONG)
    if origin_of(host_page) == origin:
        return Checked(rebuilt, Target.SAME)
    if str(origin) in allowed:
        return Checked(rebuilt, Target.NEW_TAB)
    raise UrlRefused(
        f"{origin} is neither the customer's site nor one of the workgroup's allowed sites",
        Reason.NOT_ALLOWED,
    )


def host_page(conv: Conversation) -> str:
    """The page the customer opened the chat on (empty if unknown)."""
    page = conv.metadata.get("page", "")
    return page if isinstance(page, str) else ""


# State ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class State:
    """Whether the customer follows an agent now, read from the conversation's entries (the
    entries are the state: a reconnect of either side reads them again)."""

    following: bool = False
    #: The agent followed (participant key and name).
    by: str | None = None
    name: str = ""


def fold(state: State, entry: Entry) -> State:
    """``state`` after ``entry`` (any kind: others leave it as it is)."""
    if entry.kind is EntryKind.ENDED:
        return State()
    if entry.kind is EntryKind.LEFT and state.following and entry.author == state.by:
        return State()  # the followed agent left (a transfer): nobody to follow
    if entry.kind is not EntryKind.COBROWSE:
        return state
    action = entry.body.get("action")
    if action == Action.FOLLOW:
        return State(True, entry.author, str(entry.body.get("name", "")))
    if action == Action.UNFOLLOW:
        return State()
    return state


def state_of(entries: list[Entry]) -> State:
    state = State()
    for entry in entries:
        state = fold(state, entry)
    return state


# Commands -------------------------------------------------------------------------------------


def _live(conv: Conversation) -> None:
    if conv.kind is not Kind.CUSTOMER_CHAT:
        raise InvalidInput("co-browsing is for customer chats")
    if conv.status is not Status.ACTIVE:
        raise Conflict("co-browsing needs an active chat")


def _title(title: str) -> str:
    title = title.strip()
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"a page's title is at most {MAX_TITLE_CHARS} characters")
    return title


def push(
    conv: Conversation,
    author: str,
    name: str,
    checked: Checked,
    title: str,
    client_id: str,
    now: datetime,
) -> tuple[Conversation, Entry]:
    """A page for the customer to open with one click."""
    _live(conv)
    body: dict[str, Any] = {
        "action": Action.PUSH.value,
        "url": checked.url,
        "target": checked.target.value,
        "title": _title(title),
        "name": name,
    }
    return _append(conv, EntryKind.COBROWSE, author, body, now, client_id)


def follow(
    conv: Conversation, state: State, author: str, name: str, now: datetime
) -> tuple[Conversation, Entry | None]:
    """Turn "follow me" on (None: already on for this agent, nothing appended)."""
    _live(conv)
    if state.following and state.by == author:
        return conv, None
    body = {"action": Action.FOLLOW.value, "name": name}
    return _append(conv, EntryKind.COBROWSE, author, body, now)


def navigate(
    conv: Conversation,
    state: State,
    author: str,
    name: str,
    checked: Checked,
    client_id: str,
    now: datetime,
) -> tuple[Conversation, Entry]:
    """While the customer follows ``author``: their page goes to ``checked``. A page of
    another site cannot be followed into (the customer's page stays; it would leave the site
    the widget is on): it is refused; push it instead."""
    _live(conv)
    if not state.following or state.by != author:
        raise Conflict("the customer is not following you: turn follow me on first")
    if checked.target is not Target.SAME:
        raise UrlRefused(
            "follow me stays on the customer's site: push a page of another site instead",
            Reason.NOT_ALLOWED,
        )
    body = {
        "action": Action.NAVIGATE.value,
        "url": checked.url,
        "target": checked.target.value,
        "name": name,
    }
    return _append(conv, EntryKind.COBROWSE, author, body, now, client_id)


def unfollow(
    conv: Conversation, state: State, author: str, by: str, now: datetime
) -> tuple[Conversation, Entry | None]:
    """Stop following (``by``: ``agent`` or ``customer``); None when not following."""
    if conv.kind is not Kind.CUSTOMER_CHAT:
        raise InvalidInput("co-browsing is for customer chats")
    if not state.following:
        return conv, None
    body = {"action": Action.UNFOLLOW.value, "by": by}
    return _append(conv, EntryKind.COBROWSE, author, body, now)
