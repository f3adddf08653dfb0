"""Interactions in flight, and waiting for them to finish before the bot closes.

discord.py runs every slash command, button click and modal submission in its own task,
with a name that says which kind it is. Counting those tasks covers every capability's
commands and views without each one registering itself.
"""

from __future__ import annotations

import asyncio

INTERACTION_TASK_PREFIXES = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-modal-dispatch-",
    "discord-ui-dynamic-item-",
)


def accepting(client: object) -> bool:
    """False once the bot has begun shutting down (`MentorBot.accepting_interactions`): the
    tree, buttons and forms then refuse new work politely."""
    return getattr(client, "accepting_interactions", True)


def interaction_tasks() -> set[asyncio.Task[object]]:
    """Tasks of this event loop handling an interaction right now (the caller's excluded)."""
    current = asyncio.current_task()
    return {
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        and task.get_name().startswith(INTERACTION_TASK_PREFIXES)
    }


def interactions_in_flight() -> int | None:
    try:
        return len(interaction_tasks())
    except RuntimeError:  # no running event loop
        return None


async def drain_interactions(grace_seconds: float, give_up: asyncio.Event | None = None) -> int:
    """Wait until no interaction is being handled, for at most `grace_seconds`.

    New interactions arriving meanwhile are refused by the tree (quickly) and waited for
    too. `give_up` (a second Ctrl-C) ends the wait early. Returns how many were still
    running when the wait ended.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_seconds
    while pending := interaction_tasks():
        remaining = deadline - loop.time()
        if remaining <= 0 or (give_up is not None and give_up.is_set()):
            return len(pending)
        # Short waits, so tasks that started meanwhile and `give_up` are noticed.
        await asyncio.wait(pending, timeout=min(remaining, 0.2))
    return 0
