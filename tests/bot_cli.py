"""The `bot_cli` fixture: `python -m bot ARGS` in this process, with an environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.__main__ import main

# The settings' prefixes a test must not inherit from the shell that runs it.
BOT_SETTINGS = ("DISCORD_", "LLM_", "DATABASE_", "BACKUP_", "SHARD_", "CLUSTER_", "HEALTH_")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def bot_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Iterator[Callable[..., Result]]:
    """`bot_cli("check", SHARD_COUNT="2")`: the command's exit status and output, with
    these settings in an environment cleared of the caller's bot settings, run in this
    test's folder or in `cwd=`. In this process: a subprocess costs seconds of imports."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    for name in list(os.environ):
        if name.startswith(BOT_SETTINGS):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, cwd: Path | None = None, **env: str) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    yield run
    root.handlers[:], level = saved
    root.setLevel(level)


def one_line(result: Result) -> str:
    """The one line of a refusal (exit status 2, no traceback)."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]
