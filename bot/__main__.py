"""Command line: `python -m bot [run|migrate|check|sync|invite]`. The composition root."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import discord

from bot.app import MentorBot
from bot.clock import SystemClock
from bot.config import Settings, load_settings
from bot.db import Database, load_migrations, open_database
from bot.errors import StartupError
from bot.logs import configure_logging
from bot.permissions import (
    REQUIRED_PERMISSIONS,
    SCOPES,
    application_id_from_token,
    invite_url,
    required_permissions,
)
from bot.services.command_sync import payload_hash
from bot.simulator.redirect import point_discord_at
from bot.wiring import build_llm_client, build_services, validate_content

log = logging.getLogger("bot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Mentor, a Discord bot for aspiring AI engineers."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="connect to Discord and run the bot (the default)")
    sub.add_parser("migrate", help="create or upgrade the database, then exit")
    sub.add_parser("check", help="validate settings, database and content without Discord")
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
    return parser


async def create_bot(settings: Settings, *, background: bool = True) -> MentorBot:
    """Open and migrate the database, build the services, and the bot around them.

    `background` starts the scheduler and the sync-on-change of slash commands (`run`).
    """
    if settings.discord_api_url is not None:
        point_discord_at(settings.discord_api_url)
    db = await open_database(settings.database_path)
    services = build_services(settings, db, SystemClock(), build_llm_client(settings))
    return MentorBot(
        services,
        start_scheduler=background,
        sync_commands=background and settings.auto_sync_commands,
    )


async def close_bot(bot: MentorBot) -> None:
    await bot.close()
    if bot.services.llm is not None:
        await bot.services.llm.close()
    await bot.services.db.close()


async def run(settings: Settings) -> None:
    token = settings.require_token()
    bot = await create_bot(settings)
    try:
        await bot.start(token)
    except discord.LoginFailure:
        raise StartupError(
            "Discord rejected DISCORD_TOKEN: copy a fresh token from the Developer Portal "
            "(Bot > Reset Token) into .env."
        ) from None
    finally:
        await close_bot(bot)


async def migrate(settings: Settings) -> None:
    db = await open_database(settings.database_path)
    await db.close()
    print(f"Database {settings.database_path} is up to date ({len(load_migrations())} migrations).")


async def check(settings: Settings) -> None:
    print(f"Settings: OK (LLM {'on' if settings.llm_enabled else 'off: retrieval-only answers'})")
    migrations = load_migrations()
    if settings.database_path.exists():
        db = await Database.open(settings.database_path)
        try:
            pending = await db.pending_migrations(migrations)
        finally:
            await db.close()
        state = f"{len(pending)} migration(s) pending" if pending else "up to date"
        print(f"Database {settings.database_path}: OK ({state})")
    else:
        print(f"Database {settings.database_path}: not created yet (made on first run)")
    print(f"Migrations: OK ({len(migrations)} files)")
    for line in validate_content():
        print(f"Content: {line}")


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


async def playground(settings: Settings, out_dir: Path) -> None:
    # Imported here: the simulator is only needed by this command.
    from bot.simulator.playground import run_playground

    await run_playground(settings, out_dir)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = load_settings()
        # The playground's terminal is for the conversation: only errors are logged there.
        level = "ERROR" if command == "playground" else settings.log_level
        configure_logging(level, settings.log_format)
        if command == "run":
            asyncio.run(run(settings))
        elif command == "migrate":
            asyncio.run(migrate(settings))
        elif command == "check":
            asyncio.run(check(settings))
        elif command == "sync":
            asyncio.run(sync(settings, args.guild, args.everywhere))
        elif command == "invite":
            invite(settings, args.client_id)
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
