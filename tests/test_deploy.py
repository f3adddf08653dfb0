"""The deploy files: the essentials an admin relies on, checked without a Docker engine."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.health import HealthServer
from bot.wiring import Services
from tests.fakes_ops import FakeBot

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            result.append((instruction.upper(), args.strip()))
    return result


def unit_file() -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in (DEPLOY / "mentor.service").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        else:
            key, _, value = line.partition("=")
            assert current is not None
            current.append((key, value))
    return sections


def test_dockerfile_runs_as_a_non_root_user_with_the_data_in_a_volume() -> None:
    steps = dockerfile_instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    assert any("useradd" in args and users[-1] in args for i, args in steps if i == "RUN")
    last_user = max(i for i, (instruction, _) in enumerate(steps) if instruction == "USER")
    assert all(instruction != "RUN" for instruction, _ in steps[last_user:])
    volumes = " ".join(args for instruction, args in steps if instruction == "VOLUME")
    assert '"/data"' in volumes or "/data" in volumes.split()
    env = " ".join(args for instruction, args in steps if instruction == "ENV")
    assert "DATABASE_PATH=/data/mentor.db" in env
    assert "chown" in " ".join(args for i, args in steps if i == "RUN" and "/data" in args)


def test_dockerfile_health_check_uses_python_not_curl() -> None:
    steps = dockerfile_instructions()
    [check] = [args for instruction, args in steps if instruction == "HEALTHCHECK"]
    assert "CMD" in check and "healthcheck.py" in check
    script = (DEPLOY / "healthcheck.py").read_text()
    assert "urllib.request" in script and "/healthz" in script
    assert "curl" not in (DEPLOY / "Dockerfile").read_text().replace("no curl", "")
    env = " ".join(args for instruction, args in steps if instruction == "ENV")
    assert "HEALTH_PORT=8080" in env
    entry = [args for instruction, args in steps if instruction == "ENTRYPOINT"]
    assert entry == ['["python", "-m", "bot"]']


def test_docker_context_leaves_secrets_and_data_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "data", ".git"} <= set(ignored)
    for instruction, args in dockerfile_instructions():
        if instruction == "COPY":
            for source in args.split()[:-1]:
                if not source.startswith("--"):
                    assert (ROOT / source).exists(), f"COPY {source}: no such file"


def test_compose_uses_env_file_volume_restart_and_loopback_ports() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    assert re.search(r"^\s+env_file: \.\./\.env$", text, re.M)
    assert re.search(r"^\s+- mentor-data:/data$", text, re.M)
    assert re.search(r"^volumes:\n\s+mentor-data:", text, re.M)
    assert re.search(r"^\s+restart: (unless-stopped|always|on-failure)$", text, re.M)
    assert re.search(r"^\s+DATABASE_PATH: /data/mentor\.db$", text, re.M)
    ports = re.findall(r'^\s+- "([^"]+)"$', text.split("ports:", 1)[1], re.M)[:1]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)
    assert "0.0.0.0:" not in text.split("ports:", 1)[1]
    grace = re.search(r"stop_grace_period: (\d+)s", text)
    assert grace and int(grace.group(1)) > Settings(_env_file=None).shutdown_grace_seconds


def test_systemd_unit_is_hardened_and_restarts_on_failure() -> None:
    unit = unit_file()
    service = dict(unit["Service"])
    assert service["User"] == "mentor" and service["User"] != "root"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    assert service["PrivateTmp"] == "yes"
    assert service["ProtectHome"] == "yes"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert service["ReadWritePaths"] == "/var/lib/mentor"
    assert service["CapabilityBoundingSet"] == ""
    assert "-m bot run" in service["ExecStart"]
    environment = [value for key, value in unit["Service"] if key == "Environment"]
    assert "DATABASE_PATH=/var/lib/mentor/mentor.db" in environment
    stop_timeout = int(service["TimeoutStopSec"])
    assert stop_timeout > Settings(_env_file=None).shutdown_grace_seconds
    assert dict(unit["Install"])["WantedBy"] == "multi-user.target"


def test_deploy_readme_covers_each_way_and_the_upgrade() -> None:
    text = (DEPLOY / "README.md").read_text()
    for needle in (
        "docker compose",
        "systemctl",
        "Upgrading",
        "backup",
        "restore",
        "/var/lib/mentor",
        "mentor-data",
        "/healthz",
        "/metrics",
    ):
        assert needle in text, needle


# --- The health-check script against a real endpoint -----------------------------------------


@pytest.fixture
async def endpoint(services: Services) -> AsyncIterator[tuple[HealthServer, FakeBot]]:
    services.scheduler.start()
    await services.scheduler.run_once()
    bot = FakeBot(services)
    server = HealthServer(bot, "127.0.0.1", 0)  # type: ignore[arg-type]
    assert await server.start()
    yield server, bot
    await server.stop()
    await services.scheduler.stop()


async def run_check(port: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DEPLOY / "healthcheck.py"),
        env={"HEALTH_PORT": port, "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 15)
    return process.returncode or 0, out.decode()


async def test_health_check_script_follows_the_endpoint(endpoint) -> None:
    server, bot = endpoint
    code, out = await run_check(str(server.bound_port))
    assert code == 0, out
    bot.ready = False
    code, out = await run_check(str(server.bound_port))
    assert code == 1 and "503" in out and "gateway" in out
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed_port = free.getsockname()[1]
    code, out = await run_check(str(closed_port))
    assert code == 1 and "no answer" in out
    code, _ = await run_check("")
    assert code == 0


def test_compose_has_an_optional_postgres_profile_the_bot_waits_for() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    service = text.split("\n  postgres:\n", 1)[1].split("\nvolumes:", 1)[0]
    assert re.search(r"^\s+profiles: \[postgres\]$", service, re.M)
    assert re.search(r"^\s+image: postgres:\d+$", service, re.M)
    assert re.search(r"^\s+- mentor-postgres:/var/lib/postgresql/data$", service, re.M)
    assert "pg_isready" in service and "ports:" not in service  # healthy, never published
    assert re.search(r"^volumes:\n\s+mentor-data:\n\s+mentor-postgres:", text, re.M)
    bot = text.split("\n  postgres:\n", 1)[0]
    assert re.search(
        r"depends_on:\n\s+postgres:\n\s+condition: service_healthy\n\s+required: false", bot
    )
