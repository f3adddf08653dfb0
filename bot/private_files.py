"""Files the bot writes for the operator (backups, member exports): private and never clobbered.

Each is created readable by its owner only (0600), only if nothing exists at its name, and
never through a symlink, so a link planted in a shared folder cannot redirect a member's
data or overwrite another file.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def create_new(path: Path) -> None:
    """Create an empty private file at `path`; FileExistsError if anything is there."""
    os.close(os.open(path, NEW_FILE_FLAGS, PRIVATE_MODE))


def write_new(path: Path, data: bytes) -> None:
    """Write `data` to a new private file; FileExistsError if anything is at `path`."""
    fd = os.open(path, NEW_FILE_FLAGS, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        if fd != -1:
            os.close(fd)
        Path(path).unlink(missing_ok=True)
        raise


def publish(partial: Path, dest: Path) -> None:
    """Give the finished file `partial` the name `dest`, atomically, never replacing
    anything already there (FileExistsError); `partial` is gone afterwards."""
    os.link(partial, dest, follow_symlinks=False)
    partial.unlink()
