"""The command line exposes every setting, with its PARLEY_* variable."""

from __future__ import annotations

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
