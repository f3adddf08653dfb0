"""A throwaway PostgreSQL cluster for the test session, and a fresh database per test.

`TEST_DATABASE=postgres` starts one cluster with the machine's own binaries (initdb and
pg_ctl in a temporary folder, listening on 127.0.0.1 and a Unix socket in that folder,
fsync off: nothing in it needs to survive); as root, the binaries run as the `postgres`
user. `TEST_DATABASE_URL=postgresql://...` uses that server instead; its user must be
allowed to create databases. Either way each test gets a database of its own, copied from
a migrated template (or empty, for the migration tests), dropped when the test ends.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.db.postgres import PostgresDatabase
from bot.db.url import PostgresTarget

INSTALL_HINT = (
    "TEST_DATABASE=postgres needs PostgreSQL's binaries (initdb, pg_ctl): install them "
    "(Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql), "
    "set PG_BIN to their folder, or set TEST_DATABASE_URL to a server."
)
TEMPLATE = "mentor_template"
PASSWORD = "mentor-test"
_numbers = itertools.count(1)


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: PG_BIN, the newest under /usr/lib/postgresql
    (Debian and Ubuntu), or the one on PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(debian.iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0)
        candidates.extend(p / "bin" for p in reversed(versions))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """initdb + pg_ctl start in a temporary folder; `stop` removes everything."""

    def __init__(self, binaries: Path, *, durable: bool = False) -> None:
        """`durable`: PostgreSQL's default fsync and synchronous commit (for benchmarks);
        tests run with both off, since nothing of theirs needs to survive a crash."""
        self.binaries = binaries
        self.durable = durable
        self.folder = Path(tempfile.mkdtemp(prefix="mentor-pg-"))
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stderr.strip()[-500:]}")

    def start(self) -> str:
        data = self.folder / "data"
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        password = self.folder / "password"
        password.write_text(PASSWORD)
        if self._as_postgres:
            shutil.chown(password, "postgres", "postgres")
        # Passwords over TCP (so a wrong one is refused, as on a real server).
        self._run(
            "initdb", "-D", str(data), "-U", "mentor", "--auth-local=trust",
            "--auth-host=scram-sha-256", f"--pwfile={password}", "--encoding=UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
        if self.durable:
            options += "-c max_connections=100 -c shared_buffers=256MB"
        else:
            options += (
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=300 -c shared_buffers=64MB"
            )
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.folder / "log"), "-w",
            "start",
        )  # fmt: skip
        return f"postgresql://mentor:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


# What a test's database must still look like to be emptied and reused by the next test.
SHAPE_SQL = (
    "SELECT (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'),"
    " (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'),"
    " (SELECT string_agg(checksum, ',' ORDER BY version) FROM schema_migrations)"
)


@dataclass
class TestServer:
    """Where the test databases are created: `admin_url` names an existing database.

    Creating a database costs a few hundred milliseconds, so a migrated database a test
    leaves with the template's shape is emptied (every row deleted, identities restarted:
    a few milliseconds) and handed to the next test instead; any other is dropped."""

    admin_url: str
    template_ready: bool = False
    shape: tuple | None = None
    empty_script: str = ""
    free: list[str] = field(default_factory=list)

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_url)

    async def _ensure_template(self) -> None:
        if self.template_ready:
            return
        conn = await self._admin()
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
            await conn.execute(f"CREATE DATABASE {TEMPLATE} TEMPLATE template0")
        finally:
            await conn.close()
        url = with_database(self.admin_url, TEMPLATE)
        db = await PostgresDatabase.open(PostgresTarget(url))
        try:
            await db.migrate()
        finally:
            await db.close()
        conn = await asyncpg.connect(url)
        try:
            self.shape = tuple(await conn.fetchrow(SHAPE_SQL))
            tables = [
                r[0]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'schema_migrations'"
                )
            ]
            identities = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND is_identity = 'YES'"
            )
        finally:
            await conn.close()
        # Replica mode skips the foreign keys' triggers, so tables empty in any order.
        self.empty_script = (
            "SET session_replication_role = replica;\n"
            + "".join(f"DELETE FROM {t};\n" for t in tables)
            + "".join(f"ALTER TABLE {t} ALTER COLUMN {c} RESTART;\n" for t, c in identities)
        )
        self.template_ready = True

    async def create(self, *, migrated: bool = True) -> str:
        """A new database (a copy of the migrated template, or empty); returns its URL."""
        if migrated:
            await self._ensure_template()
            if self.free:
                return self.free.pop()
        name = f"mentor_test_{os.getpid()}_{next(_numbers)}"
        conn = await self._admin()
        try:
            template = TEMPLATE if migrated else "template0"
            # FILE_COPY (PostgreSQL 15+) copies the template's files: 8x faster than the
            # default, which writes every page to the WAL.
            fast = " STRATEGY FILE_COPY" if conn.get_server_version().major >= 15 else ""
            await conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}{fast}")
        finally:
            await conn.close()
        return with_database(self.admin_url, name)

    async def release(self, url: str) -> None:
        """Empty a database with the template's shape for the next test, or drop it."""
        try:
            conn = await asyncpg.connect(url)
            try:
                if tuple(await conn.fetchrow(SHAPE_SQL)) == self.shape:
                    await conn.execute(self.empty_script)
                    self.free.append(url)
                    return
            finally:
                await conn.close()
        except asyncpg.PostgresError:
            pass
        await self.drop(url)

    async def drop(self, url: str) -> None:
        name = urlsplit(url).path.strip("/")
        conn = await self._admin()
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()
