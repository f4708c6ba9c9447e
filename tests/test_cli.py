"""The command line exposes every setting, with its PARLEY_* variable."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from parley.cli import main
from parley.settings import Settings


def test_every_setting_is_an_option_with_its_variable() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=400)
    assert result.exit_code == 0
    for name in Settings.model_fields:
        assert f"[env: PARLEY_{name.upper()}]" in result.output


def test_a_bad_setting_is_a_usage_error_naming_the_option() -> None:
    result = CliRunner().invoke(main, ["migrate", "--port", "70000"])
    assert result.exit_code == 2
    assert "--port" in result.output


def test_settings_come_from_the_environment(tmp_path: object) -> None:
    result = CliRunner().invoke(
        main,
        ["migrate", "--data-dir", str(tmp_path)],
        env={"PARLEY_MAX_FRAME_BYTES": "12"},
    )
    assert result.exit_code == 2  # read from the variable, and validated (at least 1024)
    assert "--max-frame-bytes" in result.output


def test_the_secrets_key_is_made_once_and_rotated(tmp_path: Path) -> None:
    from parley.storage.sealing import parse_keys

    key = tmp_path / "keys" / "secrets.key"
    args = ["--secrets-key-file", str(key)]
    runner = CliRunner()
    result = runner.invoke(main, ["secrets-key", "create", *args])
    assert result.exit_code == 0 and f"made {key}" in result.output
    result = runner.invoke(main, ["secrets-key", "create", *args])
    assert result.exit_code == 0 and f"kept {key}" in result.output
    first = parse_keys(key.read_text())
    result = runner.invoke(main, ["secrets-key", "rotate", *args])
    assert result.exit_code == 0, result.output
    assert parse_keys(key.read_text())[1:] == first  # a new one first, the old one kept
    result = runner.invoke(main, ["secrets-key", "rotate", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 1 and "secrets.key" in result.output
