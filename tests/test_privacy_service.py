"""Privacy: discovery of every member-data source, export, erasure, retention, departures."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import os
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.errors import DomainError
from bot.services.contracts import MemberDataSource
from bot.services.guild_settings import ChannelKind
from bot.services.privacy import member_data_sources
from bot.wiring import Services
from tests.fakes_ops import FakeNotesSource, FakeQA

ALICE, BOB = 1001, 1002
GUILD_A, GUILD_B = 501, 502


@pytest.fixture
def notes(services: Services) -> FakeNotesSource:
    """A capability plugged in the way real ones are: an attribute of the services."""
    source = FakeNotesSource()
    services.fake_notes = source  # type: ignore[attr-defined]
    source.add(GUILD_A, ALICE, "first note")
    source.add(GUILD_B, ALICE, "second note, another server")
    source.add(GUILD_A, BOB, "bob's note")
    return source


def real_sources(services: Services) -> list[MemberDataSource]:
    return [
        value
        for field in dataclasses.fields(services)
        if isinstance(value := getattr(services, field.name), MemberDataSource)
    ]


def test_discovery_finds_the_plugged_in_source_and_every_real_one(
    services: Services, notes: FakeNotesSource
) -> None:
    found = member_data_sources(services)
    assert notes in found
    for source in real_sources(services):
        assert source in found
    assert len(found) == len(real_sources(services)) + 1


def test_two_sources_with_one_section_name_are_refused(
    services: Services, notes: FakeNotesSource
) -> None:
    services.other_notes = FakeNotesSource(section="notes")  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="privacy section 'notes'"):
        member_data_sources(services)


async def test_export_holds_the_member_data_of_every_section_and_nobody_else(
    services: Services, notes: FakeNotesSource
) -> None:
    export = await services.privacy.export_member(ALICE)
    assert set(export.sections) == {s.privacy_section for s in member_data_sources(services)}
    texts = [n["text"] for n in export.sections["notes"]["notes"]]
    assert texts == ["first note", "second note, another server"]
    document = json.loads(export.to_json())
    assert document["user_id"] == str(ALICE)
    assert "bob" not in json.dumps(document)


async def test_every_real_source_exports_and_erases_an_unknown_member_cleanly(
    services: Services,
) -> None:
    for source in real_sources(services):
        assert isinstance(await source.export_member(424242), dict)
        assert await source.delete_member(424242) == 0


async def test_erasure_removes_the_member_everywhere_and_is_safe_to_repeat(
    services: Services, notes: FakeNotesSource
) -> None:
    report = await services.privacy.delete_member(ALICE)
    assert report.rows_by_section["notes"] == 2
    assert report.failed_sections == ()
    assert (await services.privacy.export_member(ALICE)).is_empty
    assert [n[1] for n in notes.notes] == [BOB]
    again = await services.privacy.delete_member(ALICE)
    assert again.rows == 0


async def test_two_erasures_at_once_erase_once(services: Services, notes: FakeNotesSource) -> None:
    first, second = await asyncio.gather(
        services.privacy.delete_member(ALICE), services.privacy.delete_member(ALICE)
    )
    assert sorted([first.rows, second.rows]) == [0, 2]


async def test_a_failing_source_is_reported_and_the_others_still_erase(
    services: Services, notes: FakeNotesSource
) -> None:
    broken = FakeNotesSource(section="broken", fail_on_delete=True)
    services.broken = broken  # type: ignore[attr-defined]
    report = await services.privacy.delete_member(ALICE)
    assert report.failed_sections == ("broken",)
    assert report.rows_by_section["notes"] == 2


async def test_export_file_is_plain_json_when_small(
    services: Services, notes: FakeNotesSource
) -> None:
    export = await services.privacy.export_file(ALICE)
    assert not export.compressed
    assert export.filename.endswith(".json")
    assert json.loads(export.data)["sections"]["notes"]["notes"][0]["text"] == "first note"


async def test_large_export_is_compressed_and_a_huge_one_is_refused(
    services: Services, notes: FakeNotesSource
) -> None:
    services.settings.privacy_export_max_bytes = 64 * 1024
    for i in range(2000):
        notes.add(GUILD_A, ALICE, f"note number {i} " * 5)
    export = await services.privacy.export_file(ALICE)
    assert export.compressed and export.filename.endswith(".json.gz")
    assert len(export.data) <= 64 * 1024
    assert len(json.loads(gzip.decompress(export.data))["sections"]["notes"]["notes"]) == 2002

    notes.add(GUILD_A, ALICE, os.urandom(200_000).hex())
    with pytest.raises(DomainError, match="export-member"):
        await services.privacy.export_file(ALICE)


async def test_server_data_is_erased_only_after_the_grace_period(
    services: Services, clock: FixedClock, notes: FakeNotesSource
) -> None:
    privacy = services.privacy
    await services.guild_settings.set_channel(GUILD_A, ChannelKind.CHALLENGE, 7)
    await services.guild_settings.set_channel(GUILD_B, ChannelKind.CHALLENGE, 8)
    await services.scheduled_posts.claim(GUILD_A, "digest", "2026-W10")
    await privacy.guild_left(GUILD_A)
    grace = services.settings.guild_data_grace_days

    clock.advance(days=grace - 1)
    assert await privacy.purge_departed_guilds(clock.now()) == []
    assert (await services.guild_settings.get(GUILD_A)).challenge_channel_id == 7

    clock.advance(days=1)
    purged = await privacy.purge_departed_guilds(clock.now())
    assert [p.guild_id for p in purged] == [GUILD_A]
    assert (await services.guild_settings.get(GUILD_A)).challenge_channel_id is None
    assert (
        await services.db.fetch_value(
            "SELECT count(*) FROM scheduled_posts WHERE guild_id = ?", (GUILD_A,)
        )
        == 0
    )
    assert all(g != GUILD_A for g, _, _ in notes.notes)
    # The other server keeps everything.
    assert (await services.guild_settings.get(GUILD_B)).challenge_channel_id == 8
    assert any(g == GUILD_B for g, _, _ in notes.notes)
    # Nothing is left to do on the next tick.
    assert await privacy.purge_departed_guilds(clock.now()) == []


async def test_rejoining_before_the_grace_period_ends_keeps_the_data(
    services: Services, clock: FixedClock, notes: FakeNotesSource
) -> None:
    privacy = services.privacy
    await privacy.guild_left(GUILD_A)
    clock.advance(days=3)
    assert await privacy.guild_present([GUILD_A, GUILD_B]) == [GUILD_A]
    clock.advance(days=365)
    assert await privacy.purge_departed_guilds(clock.now()) == []
    assert len(notes.notes) == 3


async def test_leaving_twice_counts_from_the_first_departure(
    services: Services, clock: FixedClock
) -> None:
    await services.privacy.guild_left(GUILD_A)
    first = clock.now()
    clock.advance(days=2)
    await services.privacy.guild_left(GUILD_A)
    assert await services.privacy.departed_at(GUILD_A) == first


async def test_a_failed_server_erasure_is_retried_by_the_next_tick(
    services: Services, clock: FixedClock, notes: FakeNotesSource
) -> None:
    class Flaky(FakeNotesSource):
        calls = 0

        async def delete_guild(self, guild_id: int) -> int:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("disk hiccup")
            return await super().delete_guild(guild_id)

    services.flaky = Flaky(section="flaky")  # type: ignore[attr-defined]
    await services.guild_settings.set_channel(GUILD_A, ChannelKind.QA, 9)
    await services.privacy.guild_left(GUILD_A)
    clock.advance(days=services.settings.guild_data_grace_days)
    first = await services.privacy.purge_departed_guilds(clock.now())
    assert first[0].failed_sections == ("flaky",)
    assert (await services.guild_settings.get(GUILD_A)).qa_channel_id == 9
    second = await services.privacy.purge_departed_guilds(clock.now())
    assert second[0].failed_sections == ()
    assert (await services.guild_settings.get(GUILD_A)).qa_channel_id is None


async def test_qa_logs_past_retention_are_purged_hourly(
    services: Services, clock: FixedClock
) -> None:
    now = clock.now()
    qa = FakeQA([now - timedelta(days=120), now - timedelta(days=91), now - timedelta(days=10)])
    services.qa = qa  # type: ignore[attr-defined]
    assert await services.privacy.purge_qa_logs(now) == 2
    assert qa.cutoffs == [now - timedelta(days=services.settings.qa_log_retention_days)]
    clock.advance(minutes=30)
    assert await services.privacy.purge_qa_logs(clock.now()) is None
    clock.advance(minutes=31)
    assert await services.privacy.purge_qa_logs(clock.now()) == 0
    assert len(qa.cutoffs) == 2


async def test_known_servers_missing_at_start_up_begin_their_grace_period(
    services: Services, clock: FixedClock
) -> None:
    privacy = services.privacy
    on_other_shard = (1 << 22) * 3 + 1  # (id >> 22) % 2 == 1
    await privacy.guild_present([GUILD_A, GUILD_B, on_other_shard])
    clock.advance(hours=5)
    gone = await privacy.reconcile_guilds([GUILD_B], owned=lambda g: (g >> 22) % 2 == 0)
    assert gone == [GUILD_A]  # the other shard's server is not this process's to judge
    assert await privacy.departed_at(GUILD_A) == clock.now()
    assert await privacy.departed_at(on_other_shard) is None
    clock.advance(days=1)
    assert await privacy.reconcile_guilds([GUILD_A, GUILD_B]) == [on_other_shard]
    assert await privacy.departed_at(GUILD_A) is None  # back within its grace period
