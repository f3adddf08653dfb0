"""Command line: `python -m bot [run|migrate|check|status|sync|invite|backup|restore|
export-member|copy-data|playground]`.

The composition root.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord

from bot.app import MentorBot
from bot.clock import Clock, SystemClock
from bot.config import Settings, load_settings
from bot.db import connect, load_migrations
from bot.db.copy import copy_data as copy_tables
from bot.db.copy import progress_bar
from bot.db.url import BadDatabaseUrl, PostgresTarget, parse_database_url
from bot.discord_endpoint import point_discord_at
from bot.errors import StartupError
from bot.health import HealthServer
from bot.logs import configure_logging
from bot.permissions import (
    REQUIRED_PERMISSIONS,
    SCOPES,
    application_id_from_token,
    invite_url,
    required_permissions,
)
from bot.private_files import write_new
from bot.runlock import RunLock
from bot.services.backups import (
    PG_DUMP_ADVICE,
    backup_database,
    daily_backup_name,
    restore_database,
)
from bot.services.command_sync import payload_hash
from bot.wiring import (
    build_llm_client,
    build_services,
    open_configured_database,
    validate_content,
)

log = logging.getLogger("bot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Mentor, a Discord bot for aspiring AI engineers."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="connect to Discord and run the bot (the default)")
    sub.add_parser("migrate", help="create or upgrade the database, then exit")
    sub.add_parser("check", help="validate settings, database and content without Discord")
    sub.add_parser(
        "status", help="list the bot processes seen in the database, their shards and last beat"
    )
    sync = sub.add_parser("sync", help="register the slash commands with Discord")
    target = sync.add_mutually_exclusive_group()
    target.add_argument("--guild", type=int, help="sync to this server only (instant)")
    target.add_argument(
        "--global",
        dest="everywhere",
        action="store_true",
        help="sync globally even when DEV_GUILD_ID is set",
    )
    playground = sub.add_parser(
        "playground",
        help="try the bot in this terminal against a simulated Discord (no application needed)",
    )
    playground.add_argument(
        "--dir",
        type=Path,
        default=Path("playground-output"),
        help="folder for the session's database and saved files (emptied at start)",
    )
    invite = sub.add_parser("invite", help="print the URL that adds the bot to a server")
    invite.add_argument("--client-id", type=int, help="application id (default: from the token)")
    backup = sub.add_parser(
        "backup", help="copy the database to PATH, consistently, even while the bot runs"
    )
    backup.add_argument("path", type=Path, help="a new file, or a folder for a dated file")
    restore = sub.add_parser(
        "restore", help="replace the database with a checked backup (the bot must be stopped)"
    )
    restore.add_argument("path", type=Path, help="the backup file to restore")
    export = sub.add_parser(
        "export-member", help="write everything stored about one member to a JSON file"
    )
    export.add_argument("user_id", type=int, help="the member's Discord user id")
    export.add_argument("path", type=Path, nargs="?", help="default: mentor-data-USER_ID.json")
    copy = sub.add_parser(
        "copy-data",
        help="copy every table to another (empty) database, verified; the source is only read",
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://... or sqlite:///path.db"
    )
    return parser


async def create_bot(
    settings: Settings, *, background: bool = True, clock: Clock | None = None, **options: Any
) -> MentorBot:
    """Open and migrate the database, build the services, and the bot around them.

    `background` starts the scheduler and the sync-on-change of slash commands, and moves
    what exists at ready out of the garbage collector's way (`run`). `clock` and `options`
    (discord.py's) are for the simulator's separate-process bot (simulator/clocked_bot.py).
    """
    if settings.discord_api_url is not None:
        point_discord_at(settings.discord_api_url)
    db = await open_configured_database(settings)
    services = build_services(settings, db, clock or SystemClock(), build_llm_client(settings))
    return MentorBot(
        services,
        start_scheduler=background,
        sync_commands=background and settings.auto_sync_commands,
        freeze_gc=background,
        **options,
    )


async def close_bot(bot: MentorBot) -> None:
    await bot.close()
    if bot.services.llm is not None:
        await bot.services.llm.close()
    await bot.services.db.close()


async def run(settings: Settings) -> None:
    token = settings.require_token()
    settings.require_one_process_on_sqlite()
    # One process owns a SQLite file; PostgreSQL serves several (shard clusters).
    lock = RunLock(settings.database_path, "the bot is running") if settings.on_sqlite else None
    with lock or contextlib.nullcontext():
        bot = await create_bot(settings)
        try:
            await serve(bot, token)
        finally:
            await close_bot(bot)


async def serve(bot: MentorBot, token: str) -> None:
    """Run until Discord disconnects for good or SIGTERM/SIGINT asks for a clean stop.

    The first signal starts a graceful shutdown (see `MentorBot.shutdown`); a second one
    stops waiting for running commands.
    """
    settings = bot.services.settings
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    give_up = asyncio.Event()

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if stop_requested.is_set():
            log.warning("Second %s: no longer waiting for running commands", name)
            give_up.set()
        else:
            log.info("Received %s: shutting down", name)
            stop_requested.set()

    cluster = bot.services.cluster
    # SQLite serves one process (the run lock): rows there are of processes that are gone.
    await cluster.join(refuse_conflicts=not settings.on_sqlite)
    beats = asyncio.create_task(cluster.beat_forever(), name="mentor-heartbeat")
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    health = None
    if settings.health_port is not None:
        health = HealthServer(bot, settings.health_host, settings.health_port)
        await health.start()
    unfinished = await bot.services.bot_state.mark_started()
    if unfinished is not None:
        log.warning(
            "The previous run (started %s UTC) did not stop cleanly. Nothing committed is "
            "lost: SQLite replays its log, and scheduled work catches up once.",
            unfinished,
        )
    gateway = asyncio.create_task(bot.start(token), name="mentor-gateway")
    stopping = asyncio.create_task(stop_requested.wait())
    try:
        await asyncio.wait({gateway, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop_requested.is_set():
            await bot.shutdown(give_up)
        await gateway
    except discord.LoginFailure:
        raise StartupError(
            "Discord rejected DISCORD_TOKEN: copy a fresh token from the Developer Portal "
            "(Bot > Reset Token) into .env."
        ) from None
    finally:
        stopping.cancel()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        if health is not None:
            await health.stop()
        beats.cancel()
        with contextlib.suppress(Exception):
            await cluster.leave()
        with contextlib.suppress(Exception):
            await bot.services.bot_state.mark_stopped()
    log.info("Stopped cleanly")


async def migrate(settings: Settings) -> None:
    db = await open_configured_database(settings)
    count = len(db.migrations())
    await db.close()
    print(f"Database {db.description} is up to date ({count} migrations).")


async def check(settings: Settings) -> None:
    settings.require_one_process_on_sqlite()
    llm = "on" if settings.llm_enabled else "off: retrieval-only answers"
    if settings.embeddings_enabled:
        llm += f", semantic retrieval with {settings.llm_embedding_model}"
    elif settings.llm_embedding_model:
        llm += "; LLM_EMBEDDING_MODEL is ignored without LLM_BASE_URL or LLM_API_KEY"
    print(f"Settings: OK (LLM {llm})")
    target = settings.database_target
    engine = "sqlite" if settings.on_sqlite else "postgres"
    migrations = load_migrations(engine)
    if settings.on_sqlite and not settings.database_path.exists():
        print(f"Database {settings.database_path}: not created yet (made on first run)")
    else:
        db = await connect(target, pool_size=1)
        try:
            pending = await db.pending_migrations(migrations)
        finally:
            await db.close()
        state = f"{len(pending)} migration(s) pending" if pending else "up to date"
        print(f"Database {db.description}: OK ({state})")
        if isinstance(target, PostgresTarget) and not pending:
            await check_cluster(settings, target)
    print(f"Migrations: OK ({len(migrations)} files)")
    for line in validate_content():
        print(f"Content: {line}")


async def status(settings: Settings) -> None:
    if settings.on_sqlite and not settings.database_path.exists():
        print(f"No database at {settings.database_path} yet: no bot process has run.")
        return
    db = await open_configured_database(settings)
    try:
        cluster = build_services(settings, db, SystemClock()).cluster
        processes = await cluster.processes()
    finally:
        await db.close()
    if not processes:
        print(
            f"No bot process has recorded a heartbeat in {db.description} in the last day: "
            "none is running."
        )
        return
    now = SystemClock().now()
    alive = sum(cluster.alive(p) for p in processes)
    print(f"{alive} of {len(processes)} process(es) seen in the last day are alive:")
    for process in processes:
        ago = describe_age(now - process.last_beat)
        state = "alive" if cluster.alive(process) else "gone"
        work = ", runs the cluster-wide work" if process.global_work and state == "alive" else ""
        print(
            f"  {process.where()}: {process.describe_shards()}, last beat {ago} ago, "
            f"{state}{work} (started {process.started_at:%Y-%m-%d %H:%M} UTC)"
        )


def describe_age(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


async def check_cluster(settings: Settings, target: PostgresTarget) -> None:
    """Would these shards start beside the processes running now? Refuse if not."""
    db = await connect(target, pool_size=1)
    try:
        conflict = await build_services(settings, db, SystemClock()).cluster.check()
    finally:
        await db.close()
    if conflict is not None:
        raise StartupError(conflict)
    print(f"Shards: OK ({describe_shards(settings)})")


def describe_shards(settings: Settings) -> str:
    if settings.shard_count is None:
        return "all, as many as Discord recommends"
    return f"{settings.shard_ids or 'all'} of {settings.shard_count}, none run by another process"


async def sync(settings: Settings, guild_id: int | None, everywhere: bool) -> None:
    token = settings.require_token()
    bot = await create_bot(settings, background=False)
    try:
        await bot.login(token)
        target = None if everywhere else (guild_id or settings.dev_guild_id)
        guild = None if target is None else discord.Object(id=target)
        if guild is not None:
            bot.tree.copy_global_to(guild=guild)
        synced = await bot.tree.sync(guild=guild)
        payload = [command.to_dict(bot.tree) for command in bot.tree.get_commands(guild=guild)]
        scope = f"guild:{target}" if target else "global"
        await bot.services.command_sync.record(scope, payload_hash(payload))
        where = f"to server {target}" if target else "globally (may take up to an hour to show)"
        print(f"Synced {len(synced)} commands {where}.")
    except discord.LoginFailure:
        raise StartupError(
            "Discord rejected DISCORD_TOKEN: copy a fresh token from the Developer Portal."
        ) from None
    finally:
        await close_bot(bot)


def invite(settings: Settings, client_id: int | None) -> None:
    if client_id is None and settings.discord_token is not None:
        client_id = application_id_from_token(settings.discord_token.get_secret_value())
    if client_id is None:
        raise StartupError(
            "No application id: pass --client-id (Developer Portal > General Information) "
            "or set DISCORD_TOKEN."
        )
    print(invite_url(client_id))
    print(f"\nScopes: {', '.join(SCOPES)}")
    print(f"Permissions integer: {required_permissions().value}")
    for name, why in REQUIRED_PERMISSIONS.items():
        print(f"  - {name.replace('_', ' ').title()}: {why}")
    print("Privileged intents: none needed.")


def backup(settings: Settings, path: Path) -> None:
    if not settings.on_sqlite:
        raise StartupError(PG_DUMP_ADVICE)
    dest = path / daily_backup_name(SystemClock().now()) if path.is_dir() else path
    result = backup_database(settings.database_path, dest)
    print(
        f"Backup written to {result.path} ({result.size_bytes:,} bytes, integrity ok, "
        f"{result.seconds:.1f} s)."
    )


def restore(settings: Settings, path: Path) -> None:
    if not settings.on_sqlite:
        raise StartupError(PG_DUMP_ADVICE)
    with RunLock(settings.database_path, "a restore is in progress"):
        result = restore_database(path, settings.database_path, SystemClock().now())
    pending = result.check.pending_migrations
    print(
        f"Restored {result.restored_from} into {result.target} (integrity ok, schema "
        f"{result.check.version:04d}; {pending} migration(s) will run at the next start)."
    )
    if result.previous_saved_as is not None:
        print(
            f"The database it replaced is kept as {result.previous_saved_as}; "
            "delete it once the restored bot works."
        )


async def export_member(settings: Settings, user_id: int, path: Path | None) -> None:
    db = await open_configured_database(settings)
    try:
        services = build_services(settings, db, SystemClock())
        export = await services.privacy.export_member(user_id)
    finally:
        await db.close()
    path = path or Path(f"mentor-data-{user_id}.json")
    try:
        write_new(path, export.to_json())  # private (0600), never over an existing file
    except FileExistsError:
        raise StartupError(f"{path} already exists: choose a new file name.") from None
    except OSError as exc:
        raise StartupError(f"Cannot write {path} ({exc.strerror}).") from None
    print(f"Wrote everything stored about user {user_id} to {path}.")


async def copy_data(settings: Settings, url: str) -> None:
    try:
        destination = parse_database_url(url)
    except BadDatabaseUrl as exc:
        raise StartupError(f"--to is not a database URL: {exc}.") from None
    # A SQLite source must not change while it is copied: the bot is kept from starting.
    lock = RunLock(settings.database_path, "a copy is in progress") if settings.on_sqlite else None
    with lock or contextlib.nullcontext():
        source = await connect(settings.database_target, pool_size=2)
        try:
            target = await connect(destination, pool_size=4)
            try:
                copies = await copy_tables(source, target, progress_bar())
            finally:
                await target.close()
        finally:
            await source.close()
    rows = sum(c.rows for c in copies)
    print(
        f"Copied {len(copies)} tables ({rows:,} rows) from {source.description} to "
        f"{target.description}; every table's row count and checksum match. "
        "Point DATABASE_URL at it and start the bot."
    )


async def playground(settings: Settings, out_dir: Path) -> None:
    # Imported here: the simulator is only needed by this command.
    from simulator.playground import run_playground

    await run_playground(settings, out_dir)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = load_settings()
        # The playground's terminal is for the conversation: only errors are logged there.
        level = "ERROR" if command == "playground" else settings.log_level
        configure_logging(level, settings.log_format, settings.secret_values())
        if command == "run":
            asyncio.run(run(settings))
        elif command == "migrate":
            asyncio.run(migrate(settings))
        elif command == "check":
            asyncio.run(check(settings))
        elif command == "status":
            asyncio.run(status(settings))
        elif command == "sync":
            asyncio.run(sync(settings, args.guild, args.everywhere))
        elif command == "invite":
            invite(settings, args.client_id)
        elif command == "backup":
            backup(settings, args.path)
        elif command == "restore":
            restore(settings, args.path)
        elif command == "export-member":
            asyncio.run(export_member(settings, args.user_id, args.path))
        elif command == "copy-data":
            asyncio.run(copy_data(settings, args.to))
        elif command == "playground":
            asyncio.run(playground(settings, args.dir))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
