"""Settings: defaults, validation, and the one-line errors of the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import StartupError

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_need_nothing() -> None:
    settings = Settings(_env_file=None)
    assert settings.database_path == Path("data/mentor.db")
    assert settings.llm_enabled is False
    assert settings.log_level == "INFO"


def test_llm_is_enabled_by_key_or_base_url() -> None:
    assert Settings(_env_file=None, llm_base_url="http://127.0.0.1:8080/v1").llm_enabled
    assert Settings(_env_file=None, llm_api_key="sk-test").llm_enabled


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(StartupError, match="DISCORD_TOKEN is not set"):
        Settings(_env_file=None).require_token()


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("log_level", "loud", "LOG_LEVEL"),
        ("dev_guild_id", "not-a-number", "DEV_GUILD_ID"),
        ("llm_base_url", "ftp://example", "LLM_BASE_URL"),
        ("llm_timeout_seconds", "-3", "LLM_TIMEOUT_SECONDS"),
    ],
)
def test_invalid_setting_is_one_plain_sentence(field: str, value: str, variable: str) -> None:
    with pytest.raises(StartupError) as caught:
        load_settings(_env_file=None, **{field: value})
    message = str(caught.value)
    assert message.startswith(f"Setting {variable} is invalid")
    assert "\n" not in message


def test_secret_never_shows_in_repr() -> None:
    settings = Settings(_env_file=None, discord_token="abc.def.secret", llm_api_key="sk-secret")
    assert "secret" not in repr(settings)
    assert "secret" not in str(settings.model_dump())


def test_run_without_token_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DISCORD_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_env_file_setting_exits_2(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=shouting\n")
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "LOG_LEVEL" in result.stderr and "Traceback" not in result.stderr


def test_check_passes_on_a_fresh_checkout(tmp_path: Path) -> None:
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Settings: OK" in result.stdout
    assert "Migrations: OK" in result.stdout


def test_migrate_then_check_reports_up_to_date(tmp_path: Path) -> None:
    assert run_cli("migrate", cwd=tmp_path).returncode == 0
    assert (tmp_path / "data" / "mentor.db").exists()
    result = run_cli("check", cwd=tmp_path)
    assert "up to date" in result.stdout


def test_check_refuses_a_database_that_is_not_sqlite(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mentor.db").write_text("not a database at all" * 50)
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "not a usable SQLite database" in result.stderr


def test_invite_prints_scopes_and_permissions(tmp_path: Path) -> None:
    result = run_cli("invite", "--client-id", "123456789012345678", cwd=tmp_path)
    assert result.returncode == 0
    assert "client_id=123456789012345678" in result.stdout
    assert "scope=bot+applications.commands" in result.stdout
    assert "Manage Roles" in result.stdout


def test_help_lists_every_subcommand(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    for name in ("run", "migrate", "check", "sync", "invite"):
        assert name in result.stdout
