"""Prometheus metrics: one registry per bot, so tests can build several bots side by side.

Counters and histograms are updated where things happen (`commands`, `command_seconds`,
`llm_tokens`, `llm_errors`, ...). Values that already live somewhere else (database size,
scheduler lag, interactions in flight) are read when Prometheus scrapes, through the
probes given to `watch()`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Slash commands answer in milliseconds, but deferred ones (LLM, exports) take seconds.
COMMAND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Probes:
    """Callables read at scrape time; each returns None when the value is unknown."""

    scheduler_lag_seconds: Callable[[], float | None] = lambda: None
    scheduler_tick_seconds: Callable[[], float | None] = lambda: None
    scheduler_job_failures: Callable[[], dict[str, int]] = dict
    interactions_in_flight: Callable[[], int | None] = lambda: None
    gateway_latency_seconds: Callable[[], float | None] = lambda: None
    guilds: Callable[[], int | None] = lambda: None
    shard_latencies: Callable[[], dict[int, float | None]] = dict
    database_path: Path | None = None


class Metrics:
    """The bot's metrics. Feature code records through the public attributes:

    - `llm_requests.inc()`, `llm_tokens.inc(n)`, `llm_errors.inc()`: every LLM call.
    - `commands.labels(command=..., outcome=...).inc()` and `command_seconds`: the tree.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.probes = Probes()
        self.commands = Counter(
            "mentor_commands",
            "Slash commands run, by command and outcome (ok, refused, error, unavailable).",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "mentor_command_duration_seconds",
            "Time from receiving a slash command to finishing it.",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=self.registry,
        )
        self.llm_requests = Counter(
            "mentor_llm_requests", "Requests sent to the LLM.", registry=self.registry
        )
        self.llm_tokens = Counter(
            "mentor_llm_tokens",
            "Tokens used by the LLM (prompt and completion).",
            registry=self.registry,
        )
        self.llm_errors = Counter(
            "mentor_llm_errors",
            "LLM requests that failed after the client's own retries.",
            registry=self.registry,
        )
        self.embedding_requests = Counter(
            "mentor_qa_embedding_requests",
            "Requests to the embeddings model, by kind (query, index) and outcome (ok, error,"
            " timeout).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.embedding_fallbacks = Counter(
            "mentor_qa_embedding_fallbacks",
            "Questions answered by full text alone because the embeddings model failed, was"
            " slow or is paused after a failure (reason: error, timeout, paused).",
            ["reason"],
            registry=self.registry,
        )
        self.embedded_passages = Counter(
            "mentor_qa_embedded_passages",
            "Knowledge-base passages embedded (each text once per model; cached after that).",
            registry=self.registry,
        )
        self.backups = Counter(
            "mentor_backups", "Backups attempted, by outcome.", ["outcome"], registry=self.registry
        )
        self.last_backup_timestamp = Gauge(
            "mentor_last_backup_timestamp_seconds",
            "Unix time of the last successful automatic backup (0: none yet).",
            registry=self.registry,
        )
        self.registry.register(_LiveCollector(self.probes))

    def watch(self, **probes: object) -> None:
        """Set scrape-time probes (see `Probes` for the names)."""
        for name, probe in probes.items():
            if not hasattr(self.probes, name):
                raise TypeError(f"unknown probe {name}")
            setattr(self.probes, name, probe)

    def render(self, labels: dict[str, str] | None = None) -> bytes:
        """The Prometheus text exposition of every metric; `labels` are added to every
        sample (the endpoint adds the process's shards: a cluster's processes apart)."""
        if not labels:
            return generate_latest(self.registry)
        return generate_latest(_Labelled(self.registry, labels))  # type: ignore[arg-type]


class _Labelled:
    """A registry's metrics with the same labels added to every sample."""

    def __init__(self, registry: CollectorRegistry, labels: dict[str, str]) -> None:
        self.registry = registry
        self.labels = labels

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            metric.samples = [
                sample._replace(labels={**self.labels, **sample.labels})
                for sample in metric.samples
            ]
            yield metric


class _LiveCollector:
    """Gauges computed at scrape time from the probes."""

    def __init__(self, probes: Probes) -> None:
        self.probes = probes

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from _gauge(
            "mentor_scheduler_lag_seconds",
            "Seconds since the scheduler last finished a tick.",
            self.probes.scheduler_lag_seconds(),
        )
        yield from _gauge(
            "mentor_scheduler_tick_duration_seconds",
            "How long the last scheduler tick took.",
            self.probes.scheduler_tick_seconds(),
        )
        failures = CounterMetricFamily(
            "mentor_scheduler_job_failures", "Scheduled job runs that raised.", labels=["job"]
        )
        for job, count in sorted(self.probes.scheduler_job_failures().items()):
            failures.add_metric([job], count)
        yield failures
        yield from _gauge(
            "mentor_interactions_in_flight",
            "Commands, clicks and modal submissions being handled now.",
            self.probes.interactions_in_flight(),
        )
        yield from _gauge(
            "mentor_gateway_latency_seconds",
            "Discord gateway heartbeat latency.",
            self.probes.gateway_latency_seconds(),
        )
        yield from _gauge("mentor_guilds", "Servers the bot is in.", self.probes.guilds())
        shards = GaugeMetricFamily(
            "mentor_shard_latency_seconds",
            "Gateway heartbeat latency of each of this process's shards.",
            labels=["shard"],
        )
        for shard, latency in sorted(self.probes.shard_latencies().items()):
            if latency is not None:
                shards.add_metric([str(shard)], latency)
        yield shards
        yield from _gauge(
            "mentor_database_bytes",
            "Size of the SQLite database with its write-ahead log.",
            database_bytes(self.probes.database_path),
        )


def _gauge(name: str, documentation: str, value: float | None) -> Iterator[GaugeMetricFamily]:
    if value is not None and not math.isnan(value) and not math.isinf(value):
        yield GaugeMetricFamily(name, documentation, value=value)


def database_bytes(path: Path | None) -> int | None:
    """The main file plus its `-wal`; None when there is no file (`:memory:`, not created)."""
    if path is None:
        return None
    total = None
    for suffix in ("", "-wal"):
        try:
            size = Path(f"{path}{suffix}").stat().st_size
        except OSError:
            continue
        total = (total or 0) + size
    return total
