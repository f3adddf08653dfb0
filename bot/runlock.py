"""One process at a time owns the database: the running bot, or a restore.

The lock is `flock` on `<database>.lock`. The kernel releases it when the process ends,
however it ends (SIGKILL included), so a crash never leaves a stale lock behind; the pid
written into the file is only there to name the holder in the refusal.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from bot.errors import StartupError


class DatabaseInUse(StartupError):
    """Another process holds the run lock of this database."""


class RunLock:
    def __init__(self, database_path: Path, purpose: str) -> None:
        self.path = Path(f"{database_path}.lock")
        self.database_path = Path(database_path)
        self.purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StartupError(
                f"Cannot create the lock file {self.path} ({exc.strerror}): "
                "the database folder must be writable by the bot's user."
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise DatabaseInUse(
                f"The database {self.database_path} is in use ({holder}): "
                "stop the bot first (docker compose stop / systemctl stop mentor)."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.purpose}, pid {os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
