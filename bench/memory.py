"""Resident memory of the bot connected to many simulated servers.

The bot runs as `python -m bot run` in its own process; the simulator in this one sends
READY and one GUILD_CREATE per server (channels, roles and every member). RSS is read from
/proc once the bot logs that it is ready, after a round of /ping interactions.

    python -m bench.memory                       # 1,000 servers x 100 members
    python -m bench.memory --guilds 10 --members 10
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from simulator import Simulator
from simulator.process import BotProcess

TARGET_MIB = 200


async def measure(guilds: int, members: int) -> tuple[float, float, float, str]:
    """(seconds to READY, RSS MiB, peak RSS MiB, the bot's ready line) for this many servers."""
    sim = Simulator()
    sim.gateway.all_members_in_guild_create = True  # the worst case: every member is sent
    await sim.start()
    servers = []
    for g in range(guilds):
        guild = sim.add_community_guild(f"Community {g}")
        for m in range(members):
            sim.add_member(guild, f"g{g}-member{m}")
        servers.append(guild)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        bot = await BotProcess.start(sim, Path(folder))
        try:
            await bot.wait_for_log("Connected as", within=300)
            ready = time.perf_counter() - started
            for guild in servers[:: max(1, guilds // 50)]:
                user = sim.state.users[next(iter(guild.members))]
                await sim.slash(user, "ping", guild=guild)
            rss, peak = bot.rss_kib()
            said = next(line for line in bot.lines if "Connected as" in line)
        finally:
            await bot.stop()
            await sim.close()
    return ready, rss / 1024, peak / 1024, said.split(": ", 1)[-1]


async def main(args: argparse.Namespace) -> None:
    print(f"{'servers':>8} {'members':>8} {'ready':>8} {'RSS':>10} {'peak RSS':>10}  bot said")
    for guilds, members in ((1, 5), (args.guilds, args.members)):
        ready, rss, peak, said = await measure(guilds, members)
        print(f"{guilds:>8} {members:>8} {ready:>7.1f}s {rss:>7.1f} MiB {peak:>7.1f} MiB  {said}")
    verdict = "under" if rss < TARGET_MIB else "OVER"
    print(f"{args.guilds} x {args.members}: {rss:.0f} MiB, {verdict} the {TARGET_MIB} MiB target")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=1000)
    parser.add_argument("--members", type=int, default=100, help="members per server")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
