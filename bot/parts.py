"""What a capability adds to the bot while its cog is loaded, in one shape.

Each capability's main cog builds one `Parts` and hands it to `bot.add_parts` in
`cog_load` and to `bot.remove_parts` in `cog_unload`:

- `components`: its persistent buttons (`discord.ui.DynamicItem` classes);
- `forms`: its forms, dispatched by custom_id (bot/ui/forms.py);
- `confirmations` and `pagers`: its Confirm buttons and paged lists (bot/ui/confirm.py,
  bot/ui/pager.py);
- `jobs`: its scheduled work, by name, in the order it runs within a tick (bot/scheduler.py);
  each asks only for this process's servers;
- `cluster_jobs`: its scheduled work that is not per server (retention, erasure, backups):
  in a shard cluster one process runs it at a time (bot/scheduler.py);
- `shared`: what its buttons and forms need from it. discord.py builds a persistent button
  from its custom_id alone, and the bot builds a form from its submission alone, so neither
  can be handed anything when it is made: they ask `bot.shared.get(Kind)`, by the class of
  what they need or by a Protocol they declare. Another capability's buttons can use a
  Protocol the same way (the roadmap's "Ask Mentor" button and `Asker`, bot/ui/asking.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import discord

from bot.scheduler import Job
from bot.ui.confirm import Confirmation
from bot.ui.forms import Form
from bot.ui.pager import PageLoader

T = TypeVar("T")


@dataclass(frozen=True)
class Parts:
    components: tuple[type[discord.ui.DynamicItem[Any]], ...] = ()
    forms: tuple[type[Form], ...] = ()
    confirmations: tuple[Confirmation, ...] = ()
    pagers: Mapping[str, PageLoader] = field(default_factory=dict)
    jobs: Mapping[str, Job] = field(default_factory=dict)
    cluster_jobs: Mapping[str, Job] = field(default_factory=dict)
    shared: Mapping[type[Any], Any] = field(default_factory=dict)


class Shared:
    """Objects the loaded capabilities share with buttons and forms, by type (`bot.shared`).

    A type is known by its full name: reloading an extension makes its classes anew, and
    the new ones must still find what was shared under the old.
    """

    def __init__(self) -> None:
        self._parts: dict[str, Any] = {}

    def add(self, kind: type[T], part: T) -> None:
        self._parts[_name(kind)] = part

    def remove(self, kind: type[Any]) -> None:
        self._parts.pop(_name(kind), None)

    def find(self, kind: type[T]) -> T | None:
        """The object shared as `kind`, or None when no loaded capability offers one."""
        return self._parts.get(_name(kind))

    def get(self, kind: type[T]) -> T:
        """The object shared as `kind`; its capability must be loaded (it registered the
        button or form asking)."""
        part = self.find(kind)
        if part is None:
            raise RuntimeError(f"nothing is shared as {kind.__name__}: is its cog loaded?")
        return part


def _name(kind: type[Any]) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"
