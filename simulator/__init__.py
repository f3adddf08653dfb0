"""A stand-in for Discord that the real bot talks to over HTTP and a websocket.

`Simulator` (server.py) serves the parts of Discord's API v10 the bot uses, validates what
the bot sends the way Discord does, and records it. `SimHarness` (harness.py) runs a real
`MentorBot` against it for tests, the playground and the benchmarks. It lives beside the
bot, not inside it: `python -m bot run` never imports it. Nothing here imports discord
except the harness, which points discord.py at the simulator (bot/discord_endpoint.py).
"""

from simulator.server import Simulator
from simulator.state import SimChannel, SimGuild, SimMessage, SimUser

__all__ = ["SimChannel", "SimGuild", "SimMessage", "SimUser", "Simulator"]
