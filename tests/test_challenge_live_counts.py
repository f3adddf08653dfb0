"""Live counts: many answers in a window become one message edit showing the final numbers."""

from __future__ import annotations

import asyncio

from cogs.challenges._live import LiveCounts


async def test_answers_in_one_window_make_one_edit_with_the_latest_counts() -> None:
    counts = {"answered": 0}
    shown: list[int] = []

    async def edit(post_id: int) -> None:
        shown.append(counts["answered"])

    live = LiveCounts(0.05, edit)
    for _ in range(50):
        counts["answered"] += 1
        live.touch(7)
    await live.flush()
    assert shown == [50]

    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(3):  # a second burst right after the edit waits for the window
        counts["answered"] += 1
        live.touch(7)
    await live.flush()
    assert shown == [50, 53]
    assert loop.time() - started >= 0.04
    assert live.edits == 2


async def test_a_failing_edit_is_logged_and_later_answers_still_edit() -> None:
    calls: list[int] = []

    async def edit(post_id: int) -> None:
        calls.append(post_id)
        if len(calls) == 1:
            raise RuntimeError("Discord is down")

    live = LiveCounts(0, edit)
    live.touch(1)
    await live.flush()
    live.touch(1)
    await live.flush()
    assert calls == [1, 1] and live.edits == 1


async def test_close_cancels_pending_edits() -> None:
    edited: list[int] = []

    async def edit(post_id: int) -> None:
        edited.append(post_id)

    live = LiveCounts(10, edit)
    live.touch(1)
    await live.flush()
    live.touch(1)  # must wait ten seconds: closing cancels it
    await live.close()
    assert edited == [1]
