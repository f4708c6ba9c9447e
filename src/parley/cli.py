"""The ``parley`` command: serve, demo, admin, migrate, schema.

Every option of ``serve`` also reads from a ``PARLEY_*`` environment variable (the option wins).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, get_args

import click
import uvicorn
from click.core import ParameterSource
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from parley import logs
from parley.bootstrap import Parley, build
from parley.domain.access import StaffRole
from parley.domain.errors import DomainError
from parley.protocol import json_schema_text
from parley.settings import Settings
from parley.storage.sealing import Sealer, SealingError, rotate

F = TypeVar("F", bound=Callable[..., Any])


def _option_for(name: str, field: FieldInfo) -> Callable[[F], F]:
    """A click option for one ``Settings`` field, reading ``PARLEY_<NAME>`` too."""
    flag = "--" + name.replace("_", "-")
    env = "PARLEY_" + name.upper()
    help_text = f"{field.description or ''} [env: {env}]"
    if name == "allowed_origins":
        return click.option(
            "--allowed-origin",
            name,
            envvar=env,
            multiple=True,
            help=f"{field.description} Repeatable; the variable takes several, space-separated. "
            f"[env: {env}]",
        )
    kinds = [a for a in get_args(field.annotation) if a is not type(None)] or [field.annotation]
    kind = kinds[0]
    if kind is bool:
        off = "--no-" + name.replace("_", "-")
        return click.option(
            f"{flag}/{off}",
            name,
            envvar=env,
            default=field.default,
            show_default=True,
            help=help_text,
        )
    click_type: Any = {int: int, float: float, Path: click.Path(path_type=Path)}.get(kind, str)
    return click.option(
        flag,
        name,
        envvar=env,
        type=click_type,
        default=field.default,
        show_default=field.default is not None,
        help=help_text,
    )


def server_options(func: F) -> F:
    """The options of ``serve`` and ``demo``: one per ``Settings`` field, so that every setting
    can be given on the command line or in its PARLEY_* variable (the option wins)."""
    func = click.option(
        "--log-level",
        envvar="PARLEY_LOG_LEVEL",
        default="info",
        show_default=True,
        type=click.Choice(["debug", "info", "warning", "error"]),
        help="[env: PARLEY_LOG_LEVEL]",
    )(func)
    for name, field in reversed(Settings.model_fields.items()):
        func = _option_for(name, field)(func)
    return func


def settings_from(options: dict[str, Any]) -> Settings:
    values = {k: v for k, v in options.items() if k in Settings.model_fields}
    values["allowed_origins"] = " ".join(values.get("allowed_origins") or ())
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
            for e in exc.errors()
        )
        raise click.UsageError(problems) from None


def run_offline(options: dict[str, Any], action: Callable[[Parley], Awaitable[None]]) -> None:
    """Run an administrative action on the database without serving (migrating it first)."""
    settings = settings_from(options)

    async def go() -> None:
        parley = build(settings)
        try:
            await parley.db.migrate()
            await action(parley)
        finally:
            await parley.db.dispose()

    try:
        asyncio.run(go())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


class _Server(uvicorn.Server):
    """uvicorn, draining Parley's WebSockets (with a ``reconnect`` message) before it stops."""

    def __init__(self, config: uvicorn.Config, parley: Parley) -> None:
        super().__init__(config)
        self._parley = parley

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                # A graceful stop on SIGTERM is a clean exit (status 0). uvicorn would re-raise
                # the signal afterwards, so that the process dies of it (status -15 / 143).
                self._captured_signals.clear()

    async def shutdown(self, sockets: Any = None) -> None:
        from parley.web.app import drain

        for server in self.servers:
            server.close()
        await drain(self._parley)
        await super().shutdown(sockets)


def run_server(
    settings: Settings,
    log_level: str,
    *,
    demo: bool = False,
    on_started: Callable[[Parley], Awaitable[None]] | None = None,
) -> None:
    from parley.web.app import create_app
    from parley.web.server import config as server_config

    # JSON lines or text, uvicorn's own lines included (parley.logs, docs/operations.md).
    logs.configure(log_level, settings.log_format)
    parley = build(settings)
    app = create_app(parley, demo=demo, on_started=on_started)
    # Header deadline and size, keep-alive, and no proxy headers at the server: see web.server.
    config = server_config(app, settings, parley.metrics, log_level=log_level)
    _Server(config, parley).run()


@click.group()
@click.version_option(package_name="parley")
def main() -> None:
    """Parley: live chat between a business and its customers."""


@main.command()
@server_options
def serve(**options: Any) -> None:
    """Start a Parley node (SQLite in --data-dir unless a database URL is given)."""
    run_server(settings_from(options), options["log_level"])


@main.command()
@server_options
@click.pass_context
def demo(ctx: click.Context, /, **options: Any) -> None:
    """Start Parley with a demo company website (/demo/) on a fresh embedded database, seeded
    with the workgroups Sales and Support, the agents alice and bob and the supervisor sam."""
    import tempfile

    from parley.demo import announce, seed

    if ctx.get_parameter_source("data_dir") is ParameterSource.DEFAULT:
        options["data_dir"] = Path(tempfile.mkdtemp(prefix="parley-demo-"))
    settings = settings_from(options)

    async def ready(parley: Parley) -> None:
        await seed(parley)
        announce(settings)

    run_server(settings, options["log_level"], demo=True, on_started=ready)


@main.command()
@server_options
def migrate(**options: Any) -> None:
    """Create or upgrade the database schema, then exit."""

    async def nothing_more(_: Parley) -> None:
        return None

    run_offline(options, nothing_more)
    click.echo("database is up to date")


@main.command()
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of the WebSocket protocol."""
    text = json_schema_text()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)


@main.group()
def admin() -> None:
    """Administer accounts and workgroups from the command line."""


@admin.command("create-user")
@server_options
@click.option("--username", help="Login name (prompted for when missing).")
@click.option(
    "--role",
    type=click.Choice([r.value for r in StaffRole if r is not StaffRole.GUEST]),
    help="agent, supervisor or admin (prompted for when missing).",
)
@click.option("--display-name", default="", help="Shown to customers (default: the username).")
@click.option("--workgroup", "workgroups", multiple=True, help="Add to this workgroup; repeatable.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(
    username: str | None,
    role: str | None,
    display_name: str,
    workgroups: tuple[str, ...],
    password_stdin: bool,
    **options: Any,
) -> None:
    """Create a staff account (agent, supervisor or admin).

    For scripts: pass --username, --role and --password-stdin; nothing is asked then.
    """
    if password_stdin and (username is None or role is None):
        raise click.UsageError("--password-stdin needs --username and --role too")
    if username is None:
        username = click.prompt("Username")
    if role is None:
        role = click.prompt(
            "Role",
            type=click.Choice([r.value for r in StaffRole if r is not StaffRole.GUEST]),
            default=StaffRole.AGENT.value,
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    role_ = StaffRole(role)

    async def create(parley: Parley) -> None:
        await parley.admin.create_user(
            None, username, password, role_, display_name, list(workgroups)
        )

    run_offline(options, create)
    click.echo(f"created {role} {username!r}")


@admin.command("create-workgroup")
@server_options
@click.option("--slug", required=True, help="Short name used in URLs, e.g. sales.")
@click.option("--name", required=True, help="Display name, e.g. Sales.")
@click.option("--member", "members", multiple=True, help="Username of a member; repeatable.")
def create_workgroup(slug: str, name: str, members: tuple[str, ...], **options: Any) -> None:
    """Create a workgroup with default timeouts and capacity."""
    from parley.services.admin import WorkgroupSettings

    async def create(parley: Parley) -> None:
        await parley.admin.create_workgroup(None, slug, WorkgroupSettings(name), list(members))

    run_offline(options, create)
    click.echo(f"created workgroup {slug!r}")


@main.group("secrets-key")
def secrets_key() -> None:
    """The key file that seals secrets at rest (TOTP secrets); see docs/operations.md."""


@secrets_key.command("create")
@server_options
def secrets_key_create(**options: Any) -> None:
    """Make the key file (0600) if it is missing, e.g. once for several nodes, to copy."""
    path = settings_from(options).resolved_secrets_key_file()
    sealer = Sealer(path)
    try:
        made = sealer.load(create=True)
    except SealingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'made' if made else 'kept'} {path}")


@secrets_key.command("rotate")
@server_options
def secrets_key_rotate(**options: Any) -> None:
    """Put a new key first in the key file, keeping the old ones. Copy the file to every node,
    then restart them: each seals again with the new key as it starts."""
    path = settings_from(options).resolved_secrets_key_file()
    try:
        rotate(path)
    except (OSError, SealingError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    click.echo(f"a new first key in {path}: copy it to every node, then restart them")


if __name__ == "__main__":  # python -m parley.cli
    main()
