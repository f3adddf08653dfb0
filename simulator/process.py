"""`python -m bot run` as a separate process against a simulator, as in production.

For tests and benchmarks that need the bot in its own process (start-up, kill and restart,
memory): `bot = await BotProcess.start(sim, folder)`, `await bot.wait_for_log("Connected as")`,
then drive it with `await sim.slash(...)` and `await bot.stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from simulator.server import Simulator

ROOT = Path(__file__).resolve().parent.parent.parent


class BotProcess:
    """The bot in its own process; its log lines are collected so the pipe never fills."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._new_line = asyncio.Event()
        self._ended = False
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls,
        sim: Simulator,
        folder: Path,
        extra_env: Mapping[str, str] | None = None,
        *,
        clocked: bool = False,
    ) -> BotProcess:
        """`clocked`: on the clock in FOLDER that the test moves (simulator/clocked_bot.py)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "LLM_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            DISCORD_TOKEN=sim.state.token,
            DISCORD_API_URL=sim.api_url,
            DATABASE_PATH=str(folder / "mentor.db"),
            LOG_LEVEL="INFO",
        )
        env.update(extra_env or {})
        command = ["-m", "bot", "run"]
        if clocked:
            command = ["-m", "simulator.clocked_bot", str(folder)]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *command,
            cwd=folder,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            self._new_line.set()
        self._ended = True  # the process closed its stderr: it is exiting
        self._new_line.set()

    async def wait_for_log(self, text: str, within: float = 60.0) -> None:
        """Wait until a log line contains `text` (e.g. "Connected as", logged on READY)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not any(text in line for line in self.lines):
            if self.process.returncode is not None:
                raise RuntimeError("the bot exited:\n" + "\n".join(self.lines[-20:]))
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no log line with {text!r}:\n" + "\n".join(self.lines[-20:]))
            with contextlib.suppress(TimeoutError):
                if self._ended:  # no line will come: wait for the exit instead
                    await asyncio.wait_for(self.process.wait(), remaining)
                else:
                    self._new_line.clear()
                    await asyncio.wait_for(self._new_line.wait(), remaining)

    def rss_kib(self) -> tuple[int, int]:
        """Resident memory now and at its peak (VmRSS, VmHWM), in KiB, from /proc."""
        values = {}
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
        return values["VmRSS"], values["VmHWM"]

    async def stop(self) -> None:
        """SIGTERM, then wait for the exit."""
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        self._reader.cancel()

    async def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would end it."""
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()
