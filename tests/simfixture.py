"""The `sim` fixture: a real MentorBot connected to a simulated Discord (simulator).

Registered for every test through `pytest_plugins` in tests/conftest.py. It uses the
`settings` and `clock` fixtures, so a test module can override those (an LLM base URL, a
different start time) and still get a simulator. A test fails at teardown when the bot
called a route the simulator does not know or sent something Discord would refuse; a test
that provokes such a refusal on purpose reads it with `sim.take_problems()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from simulator.harness import SimHarness


@pytest.fixture
async def sim(settings: Settings, clock: FixedClock) -> AsyncIterator[SimHarness]:
    harness = await SimHarness.start(settings, clock)
    try:
        yield harness
    finally:
        problems = await harness.close()
    if problems:
        listed = "\n  ".join(str(p) for p in problems)
        pytest.fail(f"Discord would have refused these calls by the bot:\n  {listed}")
