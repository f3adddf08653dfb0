"""The shard-cluster deploy files: the compose file's two clusters and PostgreSQL, the
StatefulSet, and the entrypoint that turns a pod's ordinal into its shard range.

Checked without Docker or Kubernetes (and without a YAML library, which Mentor does not
depend on): the entrypoint runs for real, with a stand-in `python` that prints what it got.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENTRYPOINT = DEPLOY / "shard-entrypoint.sh"


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """A folder with a `python` that prints its arguments and SHARD_IDS instead of starting."""
    script = tmp_path / "python"
    script.write_text('#!/bin/sh\necho "args=$* SHARD_IDS=$SHARD_IDS"\n')
    script.chmod(0o755)
    return tmp_path


def entrypoint(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": f"{folder}:/usr/bin:/bin", **env}
    return subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


@pytest.mark.parametrize(
    ("pod", "expected"), [("mentor-0", "0-1"), ("mentor-1", "2-3"), ("my-bot-3", "6-7")]
)
def test_the_pod_ordinal_picks_the_shard_range(fake_python: Path, pod: str, expected: str) -> None:
    done = entrypoint(fake_python, HOSTNAME=pod, SHARDS_PER_POD="2", SHARD_COUNT="8")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"args=-m bot run SHARD_IDS={expected}"


def test_the_pod_index_label_wins_and_arguments_go_to_the_bot(fake_python: Path) -> None:
    done = entrypoint(
        fake_python, "check", HOSTNAME="x", POD_ORDINAL="1", SHARDS_PER_POD="3", SHARD_COUNT="6"
    )
    assert done.stdout.strip() == "args=-m bot check SHARD_IDS=3-5"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"HOSTNAME": "mentor-2", "SHARDS_PER_POD": "2", "SHARD_COUNT": "4"}, "SHARD_COUNT is 4"),
        ({"HOSTNAME": "mentor", "SHARDS_PER_POD": "2", "SHARD_COUNT": "4"}, "no pod ordinal"),
        ({"HOSTNAME": "mentor-0", "SHARDS_PER_POD": "0", "SHARD_COUNT": "4"}, "SHARDS_PER_POD"),
        ({"HOSTNAME": "mentor-0", "SHARDS_PER_POD": "2"}, "SHARD_COUNT must be"),
    ],
)
def test_a_pod_without_a_valid_range_stops_with_one_line_and_status_2(
    fake_python: Path, env: dict[str, str], says: str
) -> None:
    done = entrypoint(fake_python, **env)
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert says in line


def service_block(text: str, name: str) -> str:
    """The lines of one top-level service of a compose file."""
    match = re.search(rf"^  {name}:\n((?:    .*\n|\n)+)", text, re.M)
    assert match, name
    return match.group(1)


def test_compose_cluster_runs_two_ranges_that_cover_every_shard_over_postgres() -> None:
    text = (DEPLOY / "compose.cluster.yaml").read_text()
    [count] = re.findall(r'^\s+SHARD_COUNT: "(\d+)"$', text, re.M)
    ranges = re.findall(r'^\s+SHARD_IDS: "(\d+)-(\d+)"$', text, re.M)
    covered = sorted(s for first, last in ranges for s in range(int(first), int(last) + 1))
    assert len(ranges) == 2 and covered == list(range(int(count)))
    for name in ("mentor-a", "mentor-b"):
        bot = service_block(text, name)
        assert "<<: *mentor" in bot and "<<: *mentor-environment" in bot
        ports = re.findall(r'- "([^"]+)"', bot)
        assert ports and all(p.startswith("127.0.0.1:") for p in ports)
    shared = text.split("\nservices:\n", 1)[0]
    assert "DATABASE_URL: postgresql://" in shared and "@postgres:5432/mentor" in shared
    assert re.search(r"depends_on:\n\s+postgres:\n\s+condition: service_healthy\n", shared)
    postgres = service_block(text, "postgres")
    assert re.search(r"^\s+image: postgres:\d+$", postgres, re.M)
    assert "pg_isready" in postgres and "ports:" not in postgres
    assert "- mentor-postgres:/var/lib/postgresql/data" in postgres
    assert re.search(r"^volumes:\n\s+mentor-postgres:", text, re.M)


def test_statefulset_runs_the_entrypoint_with_config_and_secret() -> None:
    text = (DEPLOY / "kubernetes" / "mentor.yaml").read_text()
    kinds = re.findall(r"^kind: (\w+)$", text, re.M)
    assert kinds == ["ConfigMap", "Service", "StatefulSet"]
    replicas = int(re.search(r"^\s+replicas: (\d+)$", text, re.M).group(1))  # type: ignore[union-attr]
    count = int(re.search(r'SHARD_COUNT: "(\d+)"', text).group(1))  # type: ignore[union-attr]
    per_pod = int(re.search(r'SHARDS_PER_POD: "(\d+)"', text).group(1))  # type: ignore[union-attr]
    assert replicas * per_pod == count
    assert 'command: ["/bin/sh", "/app/deploy/shard-entrypoint.sh"]' in text
    assert "name: mentor-secrets" in text and "name: mentor-config" in text
    assert "metadata.labels['apps.kubernetes.io/pod-index']" in text
    assert "runAsNonRoot: true" in text and "readOnlyRootFilesystem: true" in text
    grace = int(re.search(r"terminationGracePeriodSeconds: (\d+)", text).group(1))  # type: ignore[union-attr]
    assert grace > 20  # SHUTDOWN_GRACE_SECONDS' default


def test_the_entrypoint_is_in_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "deploy" not in ignored and os.access(ENTRYPOINT, os.X_OK)
