"""Interaction throughput and latency through the whole stack.

The bot runs as `python -m bot run` in its own process against the simulator in this one.
Latency is measured from the simulator sending INTERACTION_CREATE to the simulator receiving
the answer that completes it (the response, or the edit after a defer). Each command gets
`--rounds` closed-loop phases (fixed concurrency: throughput, p50, p99), alternating with
the other commands, and an open-loop phase (a fixed rate: p50, p99). The first command is
the baseline (the no-op /ping by default); each other command's throughput is compared with
the baseline's round by round, and the median of those ratios is printed.

    python -m bench.interactions
    python -m bench.interactions --command "/ping" --command "/checkin note:read chapter 3" \\
        --setup "/roadmap start track:ai_engineer"
    python -m bench.interactions --checkin      # the same /ping-versus-/checkin comparison
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.engine import bot_env
from simulator import SimGuild, Simulator, SimUser
from simulator.invocations import parse_typed_command, typed_value
from simulator.process import BotProcess

ANSWER_TIMEOUT = 10.0


@dataclass
class Phase:
    name: str
    latencies: list[float]
    seconds: float
    failures: int

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def row(self) -> str:
        return (
            f"{self.name:<46} {self.rate:>8.0f}/s {self.percentile(50):>7.1f} ms "
            f"{self.percentile(99):>7.1f} ms {statistics.fmean(self.latencies) * 1000:>7.1f} ms"
            f" {self.failures:>4}"
        )


class Driver:
    def __init__(self, sim: Simulator, guild: SimGuild, members: list[SimUser]) -> None:
        self.sim = sim
        self.guild = guild
        self.members = members
        self.by_name = {m.name: m for m in members}

    def options(self, line: str) -> tuple[str, dict[str, Any]]:
        commands = self.sim.state.commands_for(self.guild.id)
        path, typed = parse_typed_command(commands, line)
        return path, {
            s["name"]: typed_value(s, text, self.guild, self.by_name.__getitem__)
            for s, text in typed
        }

    async def invoke(self, user: SimUser, path: str, options: dict[str, Any]) -> tuple[float, bool]:
        """Send one slash command; return its latency and whether it was answered well."""
        started = time.perf_counter()
        reply = await self.sim.slash(user, path, guild=self.guild, within=ANSWER_TIMEOUT, **options)
        latency = time.perf_counter() - started
        ok = reply.message is not None and not reply.text.startswith("Something went wrong")
        return latency, ok

    async def closed_loop(self, line: str, count: int, concurrency: int) -> Phase:
        path, options = self.options(line)
        members = itertools.cycle(self.members)
        latencies: list[float] = []
        failures = 0

        async def worker(n: int) -> None:
            nonlocal failures
            for _ in range(n):
                latency, ok = await self.invoke(next(members), path, options)
                latencies.append(latency)
                failures += not ok

        started = time.perf_counter()
        share = [count // concurrency + (i < count % concurrency) for i in range(concurrency)]
        await asyncio.gather(*(worker(n) for n in share))
        name = f"{line[:30]} (concurrency {concurrency})"
        return Phase(name, latencies, time.perf_counter() - started, failures)

    async def open_loop(self, line: str, rate: float, seconds: float) -> Phase:
        path, options = self.options(line)
        members = itertools.cycle(self.members)
        loop = asyncio.get_running_loop()
        tasks = []
        started = loop.time()
        for i in range(int(rate * seconds)):
            delay = started + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.invoke(next(members), path, options)))
        results = await asyncio.gather(*tasks)
        elapsed = loop.time() - started
        failures = sum(not ok for _, ok in results)
        name = f"{line[:30]} (at {rate:.0f}/s)"
        return Phase(name, [latency for latency, _ in results], elapsed, failures)


async def main(args: argparse.Namespace) -> None:
    sim = Simulator()
    await sim.start()
    guild = sim.add_community_guild()
    members = [sim.add_member(guild, f"member{i}") for i in range(args.members)]
    moderator = sim.add_member(guild, "moderator", moderator=True)
    members_and_mod = [*members, moderator]
    with tempfile.TemporaryDirectory() as folder:
        bot = await BotProcess.start(sim, Path(folder), bot_env())
        try:
            await bot.wait_for_log("Connected as")
            driver = Driver(sim, guild, members_and_mod)
            for line in args.setup_once:
                await driver.invoke(moderator, *driver.options(line))
            for line in args.setup:
                for member in members:
                    await driver.invoke(member, *driver.options(line))
            print(f"{'phase':<46} {'rate':>10} {'p50':>10} {'p99':>10} {'mean':>10} fail")
            for line in args.command:
                await driver.closed_loop(line, 200, args.concurrency)  # warm up
            # Closed loops in alternating rounds (/ping, /checkin, /ping, ...), so a slow
            # spell of this shared machine weighs on both commands alike.
            rates: dict[str, list[float]] = {line: [] for line in args.command}
            for _ in range(args.rounds):
                for line in args.command:
                    # The simulator keeps every call it served; keep its full garbage
                    # collections (100+ ms with that history) out of the bot's latencies.
                    gc.collect()
                    gc.freeze()
                    phase = await driver.closed_loop(line, args.count, args.concurrency)
                    rates[line].append(phase.rate)
                    print(phase.row(), flush=True)
            for line in args.command:
                gc.collect()
                gc.freeze()
                print((await driver.open_loop(line, args.rate, args.seconds)).row(), flush=True)
            baseline = args.command[0]
            for line in args.command[1:]:
                paired = [
                    ours / base * 100
                    for ours, base in zip(rates[line], rates[baseline], strict=True)
                ]
                print(
                    f"{line} throughput: {statistics.median(paired):.0f}% of {baseline} "
                    f"(median of {len(paired)} rounds: "
                    f"{', '.join(f'{share:.0f}%' for share in paired)})"
                )
            if sim.state.problems:
                print(f"Refused by the simulator: {len(sim.state.problems)} calls")
        finally:
            await bot.stop()
            await sim.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", action="append", help='e.g. "/ping" (repeatable)')
    parser.add_argument("--setup", action="append", default=[], help="run once per member")
    parser.add_argument("--setup-once", action="append", default=[], help="run once as a moderator")
    parser.add_argument("--count", type=int, default=2000, help="interactions per closed loop")
    parser.add_argument("--rounds", type=int, default=3, help="closed loops per command")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop interactions/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="open-loop duration")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument(
        "--checkin",
        action="store_true",
        help="add /checkin (quick form) after the baseline, every member enrolled first",
    )
    args = parser.parse_args()
    args.command = args.command or ["/ping"]
    if args.checkin:
        args.command.append("/checkin note:read chapter 3 minutes:30")
        args.setup.append("/roadmap start track:ai_engineer")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
