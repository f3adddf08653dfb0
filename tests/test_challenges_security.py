"""Challenges: no points from a cancelled weekly, no blind verdicts, no self-scoring, imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import DomainError
from bot.services.challenges.bank_format import (
    BankFormatError,
    parse_challenges,
    parse_document,
)
from bot.services.guild_settings import ChannelKind


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None, database_path=tmp_path / "mentor.db", challenge_count_edit_seconds=0
    )


async def open_weekly(sim, mod) -> None:
    channel = sim.guild.channel("challenges")
    await sim.services.guild_settings.set_channel(sim.guild.id, ChannelKind.CHALLENGE, channel)
    opened = await sim.slash(mod, "challenge weekly create")
    fields = {"title": "Ship a RAG demo", "brief": "Build it.", "rules": "Solo work."}
    created = await sim.submit_modal(mod, opened, fields | {"deadline": "2026-03-08 18:00"})
    assert "is posted" in created.content


async def submit(sim, member, link: str, notes: str = "") -> None:
    form = await sim.slash(member, "challenge submit", which="weekly")
    answer = await sim.submit_modal(member, form, {"link": link, "notes": notes})
    assert "Submission to" in answer.content, answer.content


async def test_a_review_never_accepts_a_version_the_moderator_did_not_see(sim) -> None:
    mod, alice = sim.member("mo", moderator=True), sim.member("alice")
    await open_weekly(sim, mod)
    await submit(sim, alice, "https://github.com/a/rag", "first try")
    queue = await sim.slash(mod, "challenge weekly review")
    assert "first try" in queue.text

    await submit(sim, alice, "https://evil.example.com/swap", "swapped after the review opened")
    shown = await sim.click(mod, queue.message, label="Accept")
    assert shown.modal is None and "changed this submission" in shown.content
    assert "swapped after the review opened" in shown.text

    # The new version can be judged; an edit while the form is open is caught too.
    form = await sim.click(mod, shown.message, label="Accept")
    assert form.modal is not None
    await submit(sim, alice, "https://github.com/a/rag3", "third version")
    late = await sim.submit_modal(mod, form, {"points": "80", "comment": ""})
    assert "changed this submission" in late.content and "third version" in late.text
    row = await sim.services.db.fetch_one("SELECT status, version FROM challenge_submissions")
    assert (row["status"], row["version"]) == ("pending", 3)
    final = await sim.click(mod, late.message, label="Accept")
    done = await sim.submit_modal(mod, final, {"points": "80", "comment": ""})
    assert "Accepted" in done.content
    sim.take_problems()  # the DM to alice may be refused in the simulator: not the point


async def test_a_cancelled_weekly_cannot_award_points_to_pending_submissions(sim) -> None:
    mod, alice = sim.member("mo", moderator=True), sim.member("alice")
    await open_weekly(sim, mod)
    await submit(sim, alice, "https://github.com/a/rag")
    queue = await sim.slash(mod, "challenge weekly review")
    form = await sim.click(mod, queue.message, label="Accept")
    cancelled = await sim.slash(mod, "challenge weekly cancel")
    assert "cancel" in cancelled.content.lower()
    refused = await sim.submit_modal(mod, form, {"points": "100", "comment": ""})
    assert "cancelled" in refused.content
    points = await sim.services.db.fetch_value("SELECT count(*) FROM challenge_points")
    assert points == 0


async def test_a_moderator_cannot_override_their_own_weekly_score(sim) -> None:
    mod, other = sim.member("mo", moderator=True), sim.member("other-mod", moderator=True)
    await open_weekly(sim, other)
    await submit(sim, mod, "https://github.com/mo/rag")
    queue = await sim.slash(other, "challenge weekly review")
    form = await sim.click(other, queue.message, label="Accept")
    await sim.submit_modal(other, form, {"points": "40", "comment": ""})
    sim.take_problems()
    mine = await sim.slash(mod, "challenge weekly override", submission=1, points=100, reason="me")
    assert mine.ephemeral and "your own submission" in mine.content
    theirs = await sim.slash(
        other, "challenge weekly override", submission=1, points=45, reason="ok"
    )
    assert "40 -> 45 points" in theirs.content


# --- Importing a bank file ---------------------------------------------------------------


def test_errors_in_a_json_bank_name_the_line_of_each_entry() -> None:
    entries = [
        {"id": "first-one", "title": "T", "kind": "task"},
        {"id": 'quote"d', "note": '"id": "decoy"'},
        {"id": "first-one"},
    ]
    text = json.dumps({"challenges": entries}, indent=2)
    parsed, locate = parse_document(text, "json")
    assert [locate(n, e) for n, e in enumerate(parsed)] == [4, 9, 4]
    with pytest.raises(BankFormatError) as caught:
        parse_challenges(parsed, locate)
    assert [p.split(":")[0] for p in caught.value.problems] == ["line 4", "line 9", "line 4"]


@pytest.mark.parametrize(
    ("text", "fmt"),
    [("[" * 100_000 + "]" * 100_000, "json"), ("x = " + "[" * 50_000 + "]" * 50_000, "toml")],
)
def test_deeply_nested_files_are_refused_with_a_clear_message(text: str, fmt: str) -> None:
    with pytest.raises(BankFormatError, match="nested too deeply"):
        parse_document(text, fmt)


async def test_import_of_a_nested_file_answers_the_moderator(sim) -> None:
    mod = sim.member("mo", moderator=True)
    nested = ("[" * 5000 + "]" * 5000).encode()
    answer = await sim.slash(mod, "challenge bank import", file=("bank.json", nested))
    assert answer.ephemeral and "nested too deeply" in answer.content


async def test_roadmap_import_refuses_nested_files_too(services) -> None:
    nested = ("[" * 5000 + "]" * 5000).encode()
    with pytest.raises(DomainError, match="nests too deeply"):
        await services.roadmap.catalog.import_file(1, 2, "roadmap.json", nested, "replace")
