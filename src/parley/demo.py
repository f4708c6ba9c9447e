"""Demo data for ``parley demo``: two workgroups, two agents and a supervisor."""

from __future__ import annotations

import contextlib

import click

from parley.bootstrap import Parley
from parley.domain.access import StaffRole
from parley.domain.errors import Conflict
from parley.services.admin import WorkgroupSettings
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


def announce(settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}"
    click.echo(
        "\n".join(
            [
                "",
                "Parley demo is running.",
                f"  The company website, with the chat button:  {base}/demo/",
                f"  The agents' console:                        {base}/console/",
                "  Log in as alice or bob (agents), sam (supervisor) or admin; password: demo",
                f"  API reference:                              {base}/docs",
                f"  Data (fresh each run unless --data-dir):    {settings.data_dir}",
                "",
            ]
        )
    )
