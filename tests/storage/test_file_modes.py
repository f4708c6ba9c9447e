"""The data directory and the SQLite files hold the visitor-token key, password hashes and every
transcript: only the account running Parley may read them (0700 and 0600)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import anyio.to_thread
import pytest
from click.testing import CliRunner
from tests.fakes import FakeClock
from tests.support import run_node, settings_for

from parley.cli import main
from parley.domain.access import StaffRole

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The usual umask, which used to give 755 and 644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_a_fresh_data_dir_is_private(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    data = settings.data_dir
    assert not data.exists()
    async with run_node(settings, FakeClock()) as node:
        await node.parley.admin.create_user(None, "alice", "password123", StaffRole.AGENT, "", [])
        assert mode(data) == 0o700
        files = {p.name: mode(p) for p in data.iterdir()}
        assert set(files) >= {"parley.db", "parley.db-wal", "parley.db-shm"}
        assert files == dict.fromkeys(files, 0o600)


async def test_the_command_line_creates_it_private_too(tmp_path: Path) -> None:
    data = tmp_path / "nested" / "data"
    result = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(main, ["migrate", "--data-dir", str(data)])
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert mode(data) == 0o700
    assert mode(data / "parley.db") == 0o600


async def test_a_data_dir_open_to_others_is_tightened_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path)
    data = settings.data_dir
    async with run_node(settings, FakeClock()):
        pass
    data.chmod(0o755)
    (data / "parley.db").chmod(0o644)
    (data / "parley.db-wal").touch()
    (data / "parley.db-wal").chmod(0o666)
    with caplog.at_level(logging.WARNING, logger="parley.storage.db"):
        async with run_node(settings, FakeClock()):
            assert mode(data) == 0o700
            assert mode(data / "parley.db") == 0o600
            assert mode(data / "parley.db-wal") == 0o600
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert str(data) in warned
    assert "parley.db" in warned


async def test_a_database_elsewhere_gets_a_private_file_and_a_warning_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A directory named by a sqlite:// URL may hold more than Parley's files: warn, do not
    change it (it could be /tmp)."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    settings = settings_for(tmp_path, database_url=f"sqlite:///{shared / 'parley.db'}")
    with caplog.at_level(logging.WARNING, logger="parley.storage.db"):
        async with run_node(settings, FakeClock()):
            assert mode(shared) == 0o755
            assert mode(shared / "parley.db") == 0o600
    assert any(str(shared) in r.getMessage() for r in caplog.records)
