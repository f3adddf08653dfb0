"""`python -m bot backup | restore | export-member` as an operator runs them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.runlock import RunLock
from tests.bot_cli import Result

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(bot_cli: Callable[..., Result]) -> Callable[..., Result]:
    """`python -m bot ARGS` in this process, run in the folder `cwd=` names."""
    return bot_cli


def subprocess_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(result: Result | subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def workdir(tmp_path: Path, cli) -> Path:
    assert cli("migrate", cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "data" / "mentor.db") as conn:
        conn.execute(
            "INSERT INTO guild_settings (guild_id, timezone, updated_at) "
            "VALUES (77, 'Europe/Berlin', '2026-03-02 10:00:00')"
        )
    return tmp_path


def timezone_of_guild_77(path: Path) -> str | None:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT timezone FROM guild_settings WHERE guild_id = 77").fetchone()
    return None if row is None else row[0]


def test_backup_then_restore_round_trip(workdir: Path, cli) -> None:
    (workdir / "saved").mkdir()
    result = cli("backup", str(workdir / "saved"), cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "integrity ok" in result.stdout
    [backup] = list((workdir / "saved").glob("mentor-*.db"))

    with sqlite3.connect(workdir / "data" / "mentor.db") as conn:
        conn.execute("UPDATE guild_settings SET timezone = 'Asia/Tokyo'")
    result = cli("restore", str(backup), cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "kept as" in result.stdout
    assert timezone_of_guild_77(workdir / "data" / "mentor.db") == "Europe/Berlin"
    [previous] = list((workdir / "data").glob("mentor.db.before-restore-*Z"))
    assert timezone_of_guild_77(previous) == "Asia/Tokyo"
    assert cli("check", cwd=workdir).returncode == 0


def test_backup_to_an_unwritable_place_is_one_clear_line(workdir: Path, cli) -> None:
    (workdir / "file").write_text("x")
    line = one_line_error(cli("backup", str(workdir / "file" / "b.db"), cwd=workdir))
    assert line.startswith("error: Cannot write the backup to")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 a zip file, not a database" * 40, "is not an SQLite database"),
        (b"", "is not an SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 8000, "is damaged"),
    ],
)
def test_restore_refuses_a_file_that_is_not_a_good_database(
    workdir: Path, cli, content: bytes, message: str
) -> None:
    bad = workdir / "bad.db"
    bad.write_bytes(content)
    line = one_line_error(cli("restore", str(bad), cwd=workdir))
    assert message in line
    assert timezone_of_guild_77(workdir / "data" / "mentor.db") == "Europe/Berlin"


def test_restore_refuses_while_the_bot_runs(workdir: Path, cli) -> None:
    assert cli("backup", str(workdir / "b.db"), cwd=workdir).returncode == 0
    with RunLock(workdir / "data" / "mentor.db", "the bot is running"):
        # A real second process, as when an admin runs restore beside the live bot.
        line = one_line_error(subprocess_cli("restore", str(workdir / "b.db"), cwd=workdir))
    assert "is in use (the bot is running, pid" in line
    assert "stop the bot first" in line


def test_export_member_writes_json(workdir: Path, cli) -> None:
    result = cli("export-member", "123456789012345678", str(workdir / "out.json"), cwd=workdir)
    assert result.returncode == 0, result.stderr
    document = json.loads((workdir / "out.json").read_text())
    assert document["user_id"] == "123456789012345678"
    assert isinstance(document["sections"], dict)


def test_a_second_bot_on_the_same_database_is_refused(
    workdir: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "never-used-the-lock-comes-first")
    with RunLock(workdir / "data" / "mentor.db", "the bot is running"):
        line = one_line_error(cli("run", cwd=workdir))
    assert "is in use (the bot is running, pid" in line


@pytest.mark.parametrize("command", ["backup", "export-member"])
def test_files_the_cli_writes_are_private_and_never_clobber_or_follow_a_link(
    workdir: Path, cli, command: str
) -> None:
    def run(target: Path) -> Result:
        if command == "backup":
            return cli("backup", str(target), cwd=workdir)
        return cli("export-member", "123456789012345678", str(target), cwd=workdir)

    previous = os.umask(0o022)  # a usual umask: without care, files would be world-readable
    made = workdir / "made.out"
    try:
        assert run(made).returncode == 0
    finally:
        os.umask(previous)
    assert made.stat().st_mode & 0o777 == 0o600

    existing = workdir / "existing.out"
    existing.write_text("someone's notes")
    assert "already exists" in one_line_error(run(existing))
    assert existing.read_text() == "someone's notes"

    victim = workdir / "victim.txt"
    victim.write_text("do not touch")
    link = workdir / "link.out"
    link.symlink_to(victim)
    assert "already exists" in one_line_error(run(link))
    assert victim.read_text() == "do not touch" and link.is_symlink()


def test_a_link_planted_where_the_backup_is_assembled_is_not_followed(workdir: Path, cli) -> None:
    victim = workdir / "victim.txt"
    victim.write_text("do not touch")
    (workdir / ".b.db.partial").symlink_to(victim)
    assert cli("backup", str(workdir / "b.db"), cwd=workdir).returncode == 0
    assert victim.read_text() == "do not touch"
    assert (workdir / "b.db").stat().st_mode & 0o777 == 0o600
