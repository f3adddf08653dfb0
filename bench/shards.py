"""A shard cluster at scale: 10,000 servers over 4 shards in 2 processes on one PostgreSQL.

The simulator holds 10,000 servers of 100 members each; the bot asks for no member intent,
so each GUILD_CREATE carries its channels and roles and the bot's own member. Two processes
(`python -m bot run`, SHARD_COUNT=4, SHARD_IDS 0-1 and 2-3) start at the same moment over a
fresh PostgreSQL database. The simulator keeps Discord's IDENTIFY rule: one per 5 s in each
bucket (shard_id % max_concurrency); a shard that identifies too soon gets INVALID_SESSION
and tries again, as on Discord. Measured, for each max_concurrency asked for:

- time from the processes' start until every shard is READY (the simulator answered its
  IDENTIFY) and until both processes logged "Connected as" (every server loaded);
- RSS of each process once connected, and its peak after the load below;
- /checkin p99 at a steady 100/s spread over the servers: --members members, each in a
  server of their own, enrol once, then check in in turn; each latency runs from the
  simulator sending INTERACTION_CREATE to the answer that completes it.

Each process's log is kept in /tmp/mentor-bench-shards/.

    python -m bench.shards                            # a throwaway PostgreSQL cluster
    python -m bench.shards --max-concurrency 1 16     # the default: both
    python -m bench.shards --postgres postgresql://user:pw@host/postgres
    python -m bench.shards --guilds 500 --seconds 3   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.engine import postgres_server
from bench.interactions import ANSWER_TIMEOUT, Phase
from bench.storage import fresh_database
from bot.db import open_database
from bot.db.url import parse_database_url
from simulator import SimGuild, Simulator, SimUser
from simulator.invocations import parse_typed_command, typed_value
from simulator.process import BotProcess

SHARD_COUNT = 4
RANGES = ("0-1", "2-3")
LOG_DIR = Path(tempfile.gettempdir()) / "mentor-bench-shards"  # each process's log
TARGET_RSS_MIB = 300
TARGET_READY_SECONDS = 15
TARGET_P99_MS = 25
ENROL = "/roadmap start track:ai_engineer"
CHECKIN = "/checkin note:read chapter 3 minutes:30"


def build_world(guilds: int, members: int) -> Simulator:
    sim = Simulator()
    sim.gateway.recommended_shards = SHARD_COUNT
    sim.gateway.enforce_identify_limit = True
    for g in range(guilds):
        guild = sim.add_community_guild(f"Community {g}")
        for m in range(members - 1):  # the owner is the hundredth
            sim.state.add_member(guild, sim.state.add_user(f"g{g}-m{m}"))
    return sim


class Load:
    """Slash commands sent as members would, each in the member's own server."""

    def __init__(self, sim: Simulator, pairs: list[tuple[SimGuild, SimUser]]) -> None:
        self.sim = sim
        self.pairs = pairs

    def options(self, guild: SimGuild, line: str) -> tuple[str, dict[str, Any]]:
        commands = self.sim.state.commands_for(guild.id)
        path, typed = parse_typed_command(commands, line)
        return path, {s["name"]: typed_value(s, text, guild, lambda _: None) for s, text in typed}

    async def invoke(self, guild: SimGuild, user: SimUser, line: str) -> tuple[float, bool]:
        path, options = self.options(guild, line)
        started = time.perf_counter()
        reply = await self.sim.slash(user, path, guild=guild, within=ANSWER_TIMEOUT, **options)
        latency = time.perf_counter() - started
        return latency, reply.message is not None and not reply.text.startswith("Something")

    async def each_once(self, line: str, concurrency: int = 10) -> int:
        """Every member runs `line` once; returns how many failed."""
        queue = iter(self.pairs)
        failures = 0

        async def worker() -> None:
            nonlocal failures
            for guild, user in queue:
                _, ok = await self.invoke(guild, user, line)
                failures += not ok

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return failures

    async def open_loop(self, line: str, rate: float, seconds: float) -> Phase:
        pairs = itertools.cycle(self.pairs)
        loop = asyncio.get_running_loop()
        tasks = []
        started = loop.time()
        for i in range(int(rate * seconds)):
            delay = started + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            guild, user = next(pairs)
            tasks.append(asyncio.create_task(self.invoke(guild, user, line)))
        results = await asyncio.gather(*tasks)
        elapsed = loop.time() - started
        name = f"{line[:30]} (at {rate:.0f}/s)"
        return Phase(
            name, [latency for latency, _ in results], elapsed, sum(not ok for _, ok in results)
        )


async def run_cluster(
    sim: Simulator, database_url: str, folder: Path, args: argparse.Namespace, concurrency: int
) -> dict[str, str]:
    gateway = sim.gateway
    gateway.max_concurrency = concurrency
    gateway.sessions.clear()  # the previous run's processes are gone
    identified_before = len(gateway.identified)
    refused_before = gateway.identifies_refused
    env = {
        "DATABASE_URL": database_url,
        "SHARD_COUNT": str(SHARD_COUNT),
        "LOG_LEVEL": "INFO",
        "AUTO_SYNC_COMMANDS": "true",
    }
    processes: list[BotProcess] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    for n, shard_ids in enumerate(RANGES):
        sub = folder / f"mc{concurrency}-{n}"
        sub.mkdir()
        processes.append(await BotProcess.start(sim, sub, {**env, "SHARD_IDS": shard_ids}))
    figures: dict[str, str] = {}
    try:
        connected = []
        for process in processes:
            await process.wait_for_log("Connected as", within=300)
            connected.append(loop.time() - started)
        accepted = gateway.identified[identified_before:]
        last_ready = max(when for _, when in accepted) - started
        in_order = sorted(accepted, key=lambda accepted: accepted[1])
        figures["IDENTIFY accepted at (s, shard)"] = ", ".join(
            f"{when - started:.1f} ({shard})" for shard, when in in_order
        )
        figures["all shards READY (s)"] = f"{last_ready:.1f}"
        figures["both processes connected (s)"] = f"{max(connected):.1f}"
        figures["IDENTIFY refused (too soon)"] = str(gateway.identifies_refused - refused_before)
        rss = [p.rss_kib()[0] / 1024 for p in processes]
        figures["RSS once connected (MiB)"] = " / ".join(f"{r:.0f}" for r in rss)

        step = max(1, len(sim.state.guilds) // args.members)
        guilds = list(sim.state.guilds.values())[::step][: args.members]
        pairs = [(g, sim.state.users[sorted(g.members)[1]]) for g in guilds]
        load = Load(sim, pairs)
        failed = await load.each_once(ENROL)  # a no-op answer for those already enrolled
        await asyncio.sleep(args.settle)
        gc.collect()
        gc.freeze()
        cpu_before = [cpu_seconds(p) for p in processes]
        phase = await load.open_loop(CHECKIN, args.rate, args.seconds)
        cpu = [
            (cpu_seconds(p) - b) / phase.seconds * 100
            for p, b in zip(processes, cpu_before, strict=True)
        ]
        figures["CPU of each process under the load (% of a core)"] = " / ".join(
            f"{c:.0f}" for c in cpu
        )
        print(f"  {phase.row()}  (enrolment failures {failed})", flush=True)
        figures["/checkin p50 / p99 at 100/s (ms)"] = (
            f"{phase.percentile(50):.1f} / {phase.percentile(99):.1f}"
        )
        figures["/checkin failures"] = str(phase.failures)
        peaks = [p.rss_kib()[1] / 1024 for p in processes]
        figures["peak RSS (MiB)"] = " / ".join(f"{r:.0f}" for r in peaks)
        figures["_p99"] = f"{phase.percentile(99):.1f}"
        figures["_rss"] = f"{max(peaks):.0f}"
        figures["_ready"] = f"{last_ready:.1f}"
    finally:
        LOG_DIR.mkdir(exist_ok=True)
        for n, process in enumerate(processes):
            await process.stop()
            (LOG_DIR / f"mc{concurrency}-{RANGES[n]}.log").write_text("\n".join(process.lines))
    return figures


def cpu_seconds(process: BotProcess) -> float:
    """User plus system CPU time the process used so far, from /proc."""
    fields = Path(f"/proc/{process.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def prepare_database(admin_url: str) -> str:
    url = await fresh_database(admin_url, "bench_shards")
    db = await open_database(parse_database_url(url))
    try:
        await db.migrate()
    finally:
        await db.close()
    return url


async def main(args: argparse.Namespace, admin_url: str) -> int:
    database_url = await prepare_database(admin_url)
    began = time.perf_counter()
    sim = build_world(args.guilds, args.members_per_guild)
    await sim.start()
    print(
        f"{args.guilds:,} servers x {args.members_per_guild} members built in "
        f"{time.perf_counter() - began:.0f} s; {SHARD_COUNT} shards in {len(RANGES)} processes",
        flush=True,
    )
    results: dict[int, dict[str, str]] = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for concurrency in args.max_concurrency:
                print(f"max_concurrency {concurrency}:", flush=True)
                await asyncio.sleep(5.5)  # a fresh IDENTIFY window for every bucket
                results[concurrency] = await run_cluster(
                    sim, database_url, Path(folder), args, concurrency
                )
    finally:
        await sim.close()
    load = os.getloadavg()
    print(
        f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
    )
    labels = [k for k in next(iter(results.values())) if not k.startswith("_")]
    header = " | ".join(f"max_concurrency {c}" for c in results)
    print(f"\n| Figure | {header} |\n| --- |{' --- |' * len(results)}")
    for label in labels:
        print(f"| {label} | {' | '.join(r[label] for r in results.values())} |")
    for concurrency, r in results.items():
        verdicts = [
            ("RSS", float(r["_rss"]) < TARGET_RSS_MIB, f"< {TARGET_RSS_MIB} MiB"),
            ("READY", float(r["_ready"]) <= TARGET_READY_SECONDS, f"<= {TARGET_READY_SECONDS} s"),
            ("p99", float(r["_p99"]) < TARGET_P99_MS, f"< {TARGET_P99_MS} ms"),
        ]
        said = ", ".join(
            f"{name} {'met' if ok else 'MISSED'} ({goal})" for name, ok, goal in verdicts
        )
        print(f"max_concurrency {concurrency}: {said}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=10_000)
    parser.add_argument("--members-per-guild", type=int, default=100)
    parser.add_argument(
        "--members", type=int, default=1000, help="members who check in, each in another server"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="/checkin per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the load runs")
    parser.add_argument("--max-concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds to wait after enrolment, before the /checkin load (start-up work)",
    )
    parser.add_argument("--postgres", help="postgresql://... of a database on the server")
    return parser.parse_args()


def entry() -> int:
    args = parse_args()
    with postgres_server(args.postgres) as admin_url:
        load = os.getloadavg()[0]
        print(f"load average before: {load:.2f} on {os.cpu_count()} cores", flush=True)
        return asyncio.run(main(args, admin_url))


if __name__ == "__main__":
    sys.exit(entry())
