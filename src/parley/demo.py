"""Demo data for ``parley demo``: two workgroups, two agents and a supervisor."""

from __future__ import annotations

import contextlib

import click

from parley.bootstrap import Parley
from parley.domain.access import Staff, StaffRole
from parley.domain.errors import Conflict
from parley.domain.routing import OverflowAction
from parley.services.admin import WorkgroupSettings
from parley.services.queues import QueueSettings, RuleSettings
from parley.settings import Settings

DEMO_PASSWORD = "demo"  # noqa: S105 - printed for the newcomer, on purpose


async def seed(parley: Parley) -> None:
    """Idempotent: running the demo again on the same data directory keeps what is there."""
    for slug, name in (("sales", "Sales"), ("support", "Support")):
        with contextlib.suppress(Conflict):
            await parley.admin.create_workgroup(None, slug, WorkgroupSettings(name))
    for username, role in (
        ("alice", StaffRole.AGENT),
        ("bob", StaffRole.AGENT),
        ("sam", StaffRole.SUPERVISOR),
        ("admin", StaffRole.ADMIN),
    ):
        with contextlib.suppress(Conflict):
            await parley.admin.create_user(
                None,
                username,
                DEMO_PASSWORD,
                role,
                username.capitalize(),
                allow_weak_password=True,
            )
    for slug in ("sales", "support"):
        await parley.admin.set_members(None, slug, ["alice", "bob"])
        # Sam supervises both: the Supervisor view's wallboard, live chats and monitoring.
        await parley.supervision.set_supervisors(_ADMIN, slug, ["sam"])
    await _routing(parley)
    await _identity(parley)


_ADMIN = Staff(0, "demo", "Demo", StaffRole.ADMIN)


async def _identity(parley: Parley) -> None:
    """Sales gets a key for identity tokens: the demo site's "signed in" page
    (/demo/account.html) has the demo's stand-in backend sign its customer with it."""
    admin = Staff(0, "demo", "Demo", StaffRole.ADMIN)
    if not await parley.identity.list_keys(admin, "sales"):
        await parley.identity.create_key(None, "sales")


async def _routing(parley: Parley) -> None:
    """Sales has a billing queue: a question about an invoice or a refund goes there, at a
    higher priority, and only Bob has the skill. Unanswered there for a minute, it fails over
    to any queue with someone free."""
    admin = Staff(0, "demo", "Demo", StaffRole.ADMIN)
    with contextlib.suppress(Conflict):
        await parley.queues.create_queue(
            admin,
            "sales",
            QueueSettings(
                "billing",
                skills={"billing": 2},
                overflow_action=OverflowAction.ANY,
                overflow_secs=60,
            ),
        )
    words = {"field": "question", "op": "matches", "value": r"invoice|refund|bill"}
    await parley.queues.set_rules(
        admin, "sales", [RuleSettings(words, "billing", priority=1, name="Billing questions")]
    )
    await parley.queues.set_agent_routing(admin, "bob", {"billing": 3}, None)


def announce(settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}"
    click.echo(
        "\n".join(
            [
                "",
                "Parley demo is running.",
                f"  The company website, with the chat button:  {base}/demo/",
                f"  ... signed in as a verified customer:       {base}/demo/account.html",
                f"  The agents' console:                        {base}/console/",
                "  Log in as alice or bob (agents), sam (supervisor) or admin; password: demo",
                "  Ask about an invoice or a refund: the billing queue sends it to Bob.",
                f"  API reference:                              {base}/docs",
                f"  Data (fresh each run unless --data-dir):    {settings.data_dir}",
                "",
            ]
        )
    )
