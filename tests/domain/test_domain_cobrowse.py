"""Co-browsing's address rule, its state folded from entries, and who may do what."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parley.domain import cobrowse
from parley.domain.access import (
    Staff,
    StaffRole,
    Visitor,
    require_cobrowse_agent,
    require_cobrowse_customer,
)
from parley.domain.cobrowse import Reason, Target, UrlRefused, check_url, normalize_site
from parley.domain.conversation import (
    EntryKind,
    Participant,
    Role,
    end,
    join,
    leave,
    open_customer_chat,
    staff_key,
)
from parley.domain.errors import Conflict, Forbidden, InvalidInput, NotFound

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PAGE = "https://shop.example/pricing"
ALLOWED = ["https://docs.example", "https://help.example:8443"]


@pytest.mark.parametrize(
    ("url", "expected", "target"),
    [
        ("https://shop.example/checkout", "https://shop.example/checkout", Target.SAME),
        ("https://shop.example", "https://shop.example/", Target.SAME),
        ("https://SHOP.Example:443/a?b=c#d", "https://shop.example/a?b=c#d", Target.SAME),
        ("HTTPS://shop.example/x", "https://shop.example/x", Target.SAME),
        ("https://docs.example/guide", "https://docs.example/guide", Target.NEW_TAB),
        ("https://help.example:8443/", "https://help.example:8443/", Target.NEW_TAB),
        # Rebuilt: what is stored and navigated to is exactly what was checked.
        ("https://shop.example/a b".replace(" ", "%20"), "https://shop.example/a%20b", Target.SAME),
        ("https://shop.example/ü", "https://shop.example/%C3%BC", Target.SAME),
        ('https://shop.example/a"<b>', "https://shop.example/a%22%3Cb%3E", Target.SAME),
    ],
)
def test_good_addresses(url: str, expected: str, target: Target) -> None:
    checked = check_url(url, PAGE, ALLOWED)
    assert (checked.url, checked.target) == (expected, target)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", Reason.SCHEME),
        ("JavaScript:alert(1)//https://shop.example", Reason.SCHEME),
        ("data:text/html,<script>alert(1)</script>", Reason.SCHEME),
        ("ftp://shop.example/file", Reason.SCHEME),
        ("file:///etc/passwd", Reason.SCHEME),
        ("vbscript:msgbox", Reason.SCHEME),
        ("//shop.example/x", Reason.SCHEME),
        ("/checkout", Reason.SCHEME),
        ("https:shop.example/x", Reason.MALFORMED),
        ("https:/shop.example/x", Reason.MALFORMED),
        # Userinfo tricks: the host is what follows the @.
        ("https://shop.example@evil.example/", Reason.USERINFO),
        ("https://docs.example:pw@evil.example/", Reason.USERINFO),
        ("https://@shop.example/", Reason.USERINFO),
        # What a browser reads differently from a Python parser.
        ("https://shop.example\\@evil.example/", Reason.MALFORMED),
        ("https://evil.example\\.shop.example/", Reason.MALFORMED),
        ("https://shop.example /x", Reason.MALFORMED),
        (" https://evil.example\t/x", Reason.MALFORMED),
        ("https://shop.exa\nmple/", Reason.MALFORMED),
        ("https://shop.example/\x00", Reason.MALFORMED),
        # Look-alikes: a Cyrillic o and the punycode of it are other hosts.
        ("https://sh\u043ep.example/", Reason.NOT_ALLOWED),
        ("https://xn--shp-sdd.example/", Reason.NOT_ALLOWED),
        ("https://docs.example.evil.example/", Reason.NOT_ALLOWED),
        ("https://evildocs.example/", Reason.NOT_ALLOWED),
        ("https://sub.shop.example/", Reason.NOT_ALLOWED),
        # Trailing dots, ports, schemes: another origin.
        ("https://shop.example./", Reason.HOST),
        ("https://docs.example../", Reason.HOST),
        ("https://shop.example:8443/", Reason.NOT_ALLOWED),
        ("https://help.example/", Reason.NOT_ALLOWED),
        ("http://shop.example/", Reason.NOT_ALLOWED),
        ("https://shop.example:0/", Reason.PORT),
        ("https://shop.example:99999/", Reason.PORT),
        ("https://shop.example:abc/", Reason.PORT),
        ("https:///x", Reason.HOST),
        ("https://[::1]/", Reason.HOST),
        ("https://-bad-.example/", Reason.HOST),
        ("https://999.1.1.1/", Reason.HOST),
        ("https://127.0.0.1/", Reason.NOT_ALLOWED),
        ("https://2130706433/", Reason.HOST),
        ("https://shop.example/" + "a" * 2100, Reason.TOO_LONG),
    ],
)
def test_bad_addresses(url: str, reason: Reason) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(url, PAGE, ALLOWED)
    assert refused.value.reason is reason
    assert refused.value.code == "url_refused"


def test_no_host_page_means_only_the_allowed_sites() -> None:
    with pytest.raises(UrlRefused):
        check_url("https://shop.example/", "", ALLOWED)
    assert check_url("https://docs.example/", "", ALLOWED).target is Target.NEW_TAB


def test_an_idn_site_is_compared_as_punycode() -> None:
    site = normalize_site("https://Bücher.example")
    assert site == "https://xn--bcher-kva.example"
    assert check_url("https://bücher.example/x", PAGE, [site]).target is Target.NEW_TAB
    assert check_url("https://xn--bcher-kva.example/x", PAGE, [site]).target is Target.NEW_TAB


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        ("https://Docs.Example", "https://docs.example"),
        ("https://docs.example/", "https://docs.example"),
        ("http://docs.example:80", "http://docs.example"),
        ("https://docs.example:8443", "https://docs.example:8443"),
    ],
)
def test_sites_are_origins(site: str, expected: str) -> None:
    assert normalize_site(site) == expected


@pytest.mark.parametrize(
    "site", ["https://docs.example/guide", "docs.example", "javascript:x", "https://a@b.example"]
)
def test_a_site_that_is_not_an_origin_is_refused(site: str) -> None:
    with pytest.raises(UrlRefused):
        normalize_site(site)


def test_sites_are_deduplicated_and_limited() -> None:
    assert cobrowse.normalize_sites(["https://a.example", "https://A.example/"]) == [
        "https://a.example"
    ]
    with pytest.raises(InvalidInput):
        cobrowse.normalize_sites([f"https://s{i}.example" for i in range(cobrowse.MAX_SITES + 1)])


# State and commands ---------------------------------------------------------------------------

ANA = Participant(staff_key(1), Role.AGENT, "Ana", T0, user_id=1)
BEN = Participant(staff_key(2), Role.AGENT, "Ben", T0, user_id=2)


def active():  # type: ignore[no-untyped-def]
    conv, entries = open_customer_chat("c1", 5, "Vic", {"page": PAGE}, T0)
    conv, joined = join(conv, ANA, T0)
    return conv, [*entries, joined]


def test_follow_navigate_unfollow_fold_into_state() -> None:
    conv, log = active()
    same = check_url("https://shop.example/a", cobrowse.host_page(conv), [])
    state = cobrowse.state_of(log)
    assert not state.following
    with pytest.raises(Conflict):
        cobrowse.navigate(conv, state, ANA.key, "Ana", same, "n1", T0)
    conv, on = cobrowse.follow(conv, state, ANA.key, "Ana", T0)
    assert on is not None and on.kind is EntryKind.COBROWSE and on.body["action"] == "follow"
    log.append(on)
    state = cobrowse.state_of(log)
    assert (state.following, state.by, state.name) == (True, ANA.key, "Ana")
    assert cobrowse.follow(conv, state, ANA.key, "Ana", T0) == (conv, None)
    conv, nav = cobrowse.navigate(conv, state, ANA.key, "Ana", same, "n1", T0)
    assert nav.body == {
        "action": "navigate",
        "url": "https://shop.example/a",
        "target": "same",
        "name": "Ana",
    }
    assert nav.seq == on.seq + 1
    other = check_url("https://docs.example/", PAGE, ALLOWED)
    with pytest.raises(UrlRefused):
        cobrowse.navigate(conv, state, ANA.key, "Ana", other, "n2", T0)
    conv, off = cobrowse.unfollow(conv, state, "visitor", "customer", T0)
    assert off is not None and off.body == {"action": "unfollow", "by": "customer"}
    log += [nav, off]
    assert not cobrowse.state_of(log).following
    assert cobrowse.unfollow(conv, cobrowse.state_of(log), "visitor", "customer", T0)[1] is None


def test_the_followed_agent_leaving_or_the_end_stops_following() -> None:
    conv, log = active()
    conv, _ = join(conv, BEN, T0)
    conv, on = cobrowse.follow(conv, cobrowse.State(), ANA.key, "Ana", T0)
    assert on is not None
    conv, left = leave(conv, BEN.key, "left", T0)
    assert cobrowse.state_of([*log, on, left]).following
    conv, gone = leave(conv, ANA.key, "transferred", T0)
    assert not cobrowse.state_of([*log, on, gone]).following
    conv, ended = end(conv, None, "ended", T0)
    assert not cobrowse.state_of([*log, on, *ended]).following


def test_push_needs_an_active_chat_and_a_short_title() -> None:
    queued, _ = open_customer_chat("c1", 5, "Vic", {"page": PAGE}, T0)
    checked = check_url("https://shop.example/", PAGE, [])
    with pytest.raises(Conflict):
        cobrowse.push(queued, ANA.key, "Ana", checked, "", "p1", T0)
    conv, _ = active()
    with pytest.raises(InvalidInput):
        cobrowse.push(conv, ANA.key, "Ana", checked, "x" * 201, "p1", T0)
    conv, entry = cobrowse.push(conv, ANA.key, "Ana", checked, " Prices ", "p1", T0)
    assert entry.body["title"] == "Prices" and entry.client_id == "p1"


def test_only_the_chats_agents_lead_and_only_its_customer_stops() -> None:
    conv, _ = active()
    ana = Staff(1, "ana", "Ana", StaffRole.AGENT)
    boss = Staff(9, "boss", "Boss", StaffRole.SUPERVISOR)
    assert require_cobrowse_agent(ana, conv) is ana
    with pytest.raises(Forbidden):
        require_cobrowse_agent(boss, conv)  # reads it, but is not one of its agents
    with pytest.raises(Forbidden):
        require_cobrowse_agent(Visitor("c1"), conv)
    assert require_cobrowse_customer(Visitor("c1"), conv) == Visitor("c1")
    with pytest.raises(NotFound):
        require_cobrowse_customer(Visitor("other"), conv)
    with pytest.raises(Forbidden):
        require_cobrowse_customer(ana, conv)
