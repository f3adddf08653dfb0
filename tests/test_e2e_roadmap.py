"""/roadmap, /checkin, /streak and /leaderboard end to end: the real bot on a simulated Discord."""

from __future__ import annotations

import json
import tomllib

import pytest

from bot.services.roadmap import catalog as catalog_module
from bot.services.roadmap.content import BUILTIN_PATH, load_builtin
from bot.ui.asking import Asker


async def members(sim) -> int:
    return await sim.services.db.fetch_value("SELECT count(*) FROM roadmap_members")


async def checkins(sim) -> int:
    return await sim.services.db.fetch_value("SELECT count(*) FROM roadmap_checkins")


async def enrol(sim, user, track="ai_engineer", **options):
    reply = await sim.slash(user, "roadmap start", track=track, **options)
    assert "Welcome to the" in reply.content, reply.content
    return reply


# --- /roadmap start, view, milestone ----------------------------------------------------------


async def test_enrol_and_view(sim):
    alice = sim.member("alice")
    reply = await enrol(sim, alice, timezone="Europe/Berlin", start_date="2026-01-02")
    assert reply.ephemeral and "month 3 of 12" in reply.content and "Europe/Berlin" in reply.content
    view = await sim.slash(alice, "roadmap view")
    embed = view.embeds[0]
    assert embed["title"] == "Roadmap: AI Engineer"
    assert (
        "Month 3 of 12" in embed["description"] and "Phase 1: Foundations" in embed["description"]
    )
    assert "behind" in embed["description"]  # two months in, nothing done yet: pace
    assert [f["name"] for f in embed["fields"]][:4] == [
        "▶️ 1. Foundations (months 1-3)",
        "2. Machine Learning Core (months 4-6)",
        "3. Deep Learning and LLMs (months 7-9)",
        "4. Production and Specialisation (months 10-12)",
    ]
    assert any(f["name"] == "Next up" for f in embed["fields"])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"track": "astronaut"}, "There is no track 'astronaut'"),
        ({"track": "ai_engineer", "timezone": "Mars/Olympus_Mons"}, "is not a time zone I know"),
        ({"track": "ai_engineer", "start_date": "2030-01-01"}, "can't be in the future"),
        ({"track": "ai_engineer", "start_date": "2019-06-01"}, "2020 or later"),
        ({"track": "ai_engineer", "start_date": "01/02/2026"}, "is not a date"),
    ],
)
async def test_bad_enrolment_gets_a_short_ephemeral_answer(sim, options, expected):
    alice = sim.member("alice")
    reply = await sim.slash(alice, "roadmap start", **options)
    assert reply.ephemeral and expected in reply.content
    assert await members(sim) == 0


async def test_track_and_timezone_autocomplete(sim):
    alice = sim.member("alice")
    tracks = await sim.autocomplete(alice, "roadmap start", focused="track", track="ml")
    assert [c["value"] for c in tracks] == ["ml_engineer"]
    zones = await sim.autocomplete(
        alice, "roadmap start", focused="timezone", track="ai_engineer", timezone="kolk"
    )
    assert zones[0]["value"] == "Asia/Kolkata"


async def test_milestone_autocomplete_done_undo_and_another_tracks_milestone(sim):
    alice = sim.member("alice")
    await enrol(sim, alice)
    choices = await sim.autocomplete(
        alice, "roadmap milestone", focused="milestone", milestone="lin"
    )
    keys = [c["value"] for c in choices]
    assert "linear-algebra" in keys and "linear-regression-scratch" in keys
    assert all(len(c["name"]) <= 100 for c in choices)
    done = await sim.slash(alice, "roadmap milestone", milestone="linear-algebra")
    assert done.ephemeral and "✅ Done" in done.content and "1/29" in done.content
    again = await sim.autocomplete(alice, "roadmap milestone", focused="milestone", milestone="lin")
    assert next(c for c in again if c["value"] == "linear-algebra")["name"].startswith("✓")
    undone = await sim.slash(alice, "roadmap milestone", milestone="linear-algebra", action="undo")
    assert "↩️ Undone" in undone.content
    other = await sim.slash(alice, "roadmap milestone", milestone="feature-engineering")
    assert other.ephemeral and "belongs to the ML Engineer track" in other.content
    unknown = await sim.slash(alice, "roadmap milestone", milestone="x" * 100)
    assert "no milestone" in unknown.content
    assert await sim.services.db.fetch_value("SELECT count(*) FROM roadmap_milestones") == 0


async def test_a_content_update_keeps_ticks_and_shows_dropped_ones_as_archived(sim, monkeypatch):
    previous = load_builtin(BUILTIN_PATH.parents[2] / "tests" / "data" / "roadmap_previous.toml")
    monkeypatch.setattr(catalog_module, "load_builtin", lambda: previous)
    await sim.restart_bot()  # the server runs the previous release's roadmap
    alice = sim.member("alice")
    await enrol(sim, alice, track="ml_engineer")
    for key in ("llm-integration-basics", "python-core"):
        done = await sim.slash(alice, "roadmap milestone", milestone=key)
        assert "✅ Done" in done.content
    monkeypatch.undo()
    await sim.restart_bot()  # the update: today's roadmap
    fields = (await sim.slash(alice, "roadmap view")).embeds[0]["fields"]
    archived = next(f for f in fields if f["name"].startswith("Archived"))
    assert archived["value"].startswith("🗄️ Use an LLM API and a small RAG pipeline once (done ")
    assert fields[0]["value"].endswith("1/7")  # python-core still counts in phase 1
    choices = await sim.autocomplete(alice, "roadmap milestone", focused="milestone", milestone="")
    keys = [c["value"] for c in choices]
    assert "llm-integration-basics" not in keys and "rag-app" in keys
    again = await sim.slash(alice, "roadmap milestone", milestone="llm-integration-basics")
    assert again.ephemeral and "no milestone" in again.content


async def test_viewing_another_members_roadmap_and_a_stranger(sim):
    alice, bob = sim.member("alice"), sim.member("bob")
    await enrol(sim, alice)
    view = await sim.slash(bob, "roadmap view", member=alice)
    assert view.embeds[0]["title"] == "Roadmap: AI Engineer"
    nobody = await sim.slash(alice, "roadmap view", member=bob)
    assert nobody.ephemeral and "not on the roadmap" in nobody.content
    mine = await sim.slash(bob, "roadmap view")
    assert "/roadmap start" in mine.content


async def test_pause_resume_and_leave_with_confirmation(sim):
    alice = sim.member("alice")
    await enrol(sim, alice)
    paused = await sim.slash(alice, "roadmap pause")
    assert "Paused from 2026-03-02" in paused.content
    assert "paused since" in (await sim.slash(alice, "roadmap pause")).content
    blocked = await sim.slash(alice, "checkin", note="while paused")
    assert blocked.ephemeral and "paused" in blocked.content
    sim.clock.advance(days=3)
    resumed = await sim.slash(alice, "roadmap resume")
    assert "3 days" in resumed.content
    asked = await sim.slash(alice, "roadmap leave")
    assert asked.ephemeral and "Sure?" in asked.content
    cancelled = await sim.click(alice, asked.message, label="Cancel")
    assert await members(sim) == 1
    asked = await sim.slash(alice, "roadmap leave")
    left = await sim.click(alice, asked.message, label="Leave the roadmap")
    assert await members(sim) == 0
    assert cancelled is not None and left is not None
    assert "not on the roadmap" in (await sim.slash(alice, "roadmap leave")).content


# --- /checkin ---------------------------------------------------------------------------------


async def test_checkin_modal_with_a_milestone_from_the_select(sim):
    alice = sim.member("alice")
    await enrol(sim, alice, timezone="Europe/Berlin")
    opened = await sim.slash(alice, "checkin")
    assert opened.modal is not None and opened.modal["title"] == "Check in"
    labels = [row["label"] for row in opened.modal["components"]]
    assert labels == [
        "What did you do?",
        "Minutes spent",
        "Anything blocking you?",
        "Your next step",
        "Milestone done (optional)",
    ]
    answer = await sim.submit_modal(
        alice,
        opened,
        {
            "did": "Wrote a CLI in Python",
            "minutes": "1h30",
            "next": "OOP",
            "milestone": ["python-core"],
        },
    )
    assert not answer.ephemeral  # the check-in is shared in the channel
    text = answer.text
    assert "🔥 **1 day** (best 1)" in text and "This week: 1/7 days" in text
    assert "Milestone done: **Write Python without reaching for the docs**" in text
    assert answer.components == []  # no blocker, no buttons
    row = await sim.services.db.fetch_one(
        "SELECT minutes, next_step, milestone FROM roadmap_checkins"
    )
    assert tuple(row) == (90, "OOP", "python-core")
    again = await sim.slash(alice, "checkin")
    offered = [o["value"] for o in again.modal["components"][4]["component"]["options"]]
    assert "python-core" not in offered


async def test_quick_checkin_streak_and_weekly_goal(sim):
    alice = sim.member("alice")
    await enrol(sim, alice)
    goal = await sim.slash(alice, "profile goal", days=4)
    assert "Weekly target: 4" in goal.content
    first = await sim.slash(alice, "checkin", note="read a chapter", minutes="45")
    assert "This week: 1/4 days" in first.text
    sim.clock.advance(days=2)  # a rest day in between
    second = await sim.slash(alice, "checkin", note="exercises")
    assert "🔥 **2 days**" in second.text and "This week: 2/4 days" in second.text


async def test_hostile_checkin_text_is_stored_shown_clipped_and_never_in_content(sim):
    alice = sim.member("alice")
    await enrol(sim, alice)
    hostile = ("@everyone @here <@&123> <@456> " * 200)[:4000]
    opened = await sim.slash(alice, "checkin")
    answer = await sim.submit_modal(alice, opened, {"did": hostile, "blockers": hostile})
    stored = await sim.services.db.fetch_value("SELECT did FROM roadmap_checkins")
    assert stored == hostile.strip()
    shown = answer.embeds[0]["fields"][0]["value"]
    assert len(shown) <= 300 and shown.endswith("…")
    assert "@everyone" not in (answer.content or "")  # only the embed carries it
    assert not answer.message.pinged


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"did": "x", "minutes": "lots"}, "is not a duration"),
        ({"did": "x", "minutes": "-20"}, "is not a duration"),
        ({"did": "x", "minutes": "99h"}, "at most 1440"),
        ({"did": "   "}, "can't be empty"),
    ],
)
async def test_bad_checkin_form_gets_an_ephemeral_answer(sim, answers, expected):
    alice = sim.member("alice")
    await enrol(sim, alice)
    opened = await sim.slash(alice, "checkin")
    answer = await sim.submit_modal(alice, opened, answers)
    assert answer.ephemeral and expected in answer.content
    assert await checkins(sim) == 0


async def test_checkin_before_enrolling(sim):
    alice = sim.member("alice")
    quick = await sim.slash(alice, "checkin", note="hello")
    assert quick.ephemeral and "/roadmap start" in quick.content
    form = await sim.slash(alice, "checkin")
    assert form.modal is None and "/roadmap start" in form.content


async def test_checkin_edit_changes_todays(sim):
    alice = sim.member("alice")
    await enrol(sim, alice)
    nothing = await sim.slash(alice, "checkin", edit=True)
    assert "haven't checked in today" in nothing.content
    await sim.slash(alice, "checkin", note="tpyo", minutes="20")
    opened = await sim.slash(alice, "checkin", edit=True)
    assert opened.modal["title"] == "Edit today's check-in"
    assert opened.modal["components"][0]["component"]["value"] == "tpyo"
    edited = await sim.submit_modal(alice, opened, {"did": "typo fixed", "minutes": "35"})
    assert edited.ephemeral and "35 min" in edited.content
    row = await sim.services.db.fetch_one("SELECT did, minutes FROM roadmap_checkins")
    assert tuple(row) == ("typo fixed", 35)
    assert await sim.services.db.fetch_value("SELECT minutes_total FROM roadmap_members") == 35


async def test_blocker_buttons_without_ask_and_without_a_qa_channel(sim):
    alice, bob = sim.member("alice"), sim.member("bob")
    await sim.bot.remove_cog("Ask")  # a server running without the Q&A capability
    await enrol(sim, alice)
    opened = await sim.slash(alice, "checkin")
    answer = await sim.submit_modal(alice, opened, {"did": "tried RAG", "blockers": "embeddings?"})
    labels = [c["label"] for row in answer.components for c in row["components"]]
    assert labels == ["Ask Mentor", "Tell the mentors"]
    ask = await sim.click(alice, answer.message, label="Ask Mentor")
    assert ask.ephemeral and "/ask is not available" in ask.content
    nobody = await sim.click(alice, answer.message, label="Tell the mentors")
    assert "no Q&A channel" in nobody.content
    stranger = await sim.click(bob, answer.message, label="Tell the mentors")
    assert "Only the member who checked in" in stranger.content


async def test_blocker_goes_to_the_mentors_once_and_to_ask_when_loaded(sim):
    alice, mod = sim.member("alice"), sim.member("mo", moderator=True)
    qa = sim.guild.channel("qa")
    await sim.slash(mod, "config channel", kind="qa", channel=qa)
    await enrol(sim, alice)
    opened = await sim.slash(alice, "checkin")
    answer = await sim.submit_modal(alice, opened, {"did": "agents", "blockers": "tool calls loop"})
    sent = await sim.click(alice, answer.message, label="Tell the mentors")
    assert f"<#{qa}>" in sent.content
    (posted,) = sim.messages(qa)
    assert posted.embeds[0]["description"] == "tool calls loop"
    again = await sim.click(alice, answer.message, label="Tell the mentors")
    assert "already have this blocker" in again.content
    assert len(sim.messages(qa)) == 1

    # With the Q&A capability loaded, "Ask Mentor" hands the blocker to /ask, privately.
    answered = await sim.click(alice, answer.message, label="Ask Mentor")
    assert answered.ephemeral and answered.content
    assert "/ask is not available" not in answered.content
    question = await sim.services.db.fetch_value("SELECT question FROM qa_questions")
    assert question == "tool calls loop"

    # Whatever the loaded Q&A capability shares as its `Asker` is what it calls.
    asked: list[str] = []

    class StandIn:
        async def ask_privately(self, interaction, question: str) -> None:
            asked.append(question)
            await interaction.response.send_message("thinking about it", ephemeral=True)

    sim.bot.shared.add(Asker, StandIn())
    ask = await sim.click(alice, answer.message, label="Ask Mentor")
    assert asked == ["tool calls loop"] and ask.content == "thinking about it"


async def test_blocker_buttons_still_work_after_a_restart(sim):
    alice = sim.member("alice")
    await enrol(sim, alice)
    opened = await sim.slash(alice, "checkin")
    answer = await sim.submit_modal(alice, opened, {"did": "x", "blockers": "stuck"})
    await sim.restart_bot()
    told = await sim.click(alice, answer.message, label="Tell the mentors")
    assert "no Q&A channel" in told.content


# --- /streak ----------------------------------------------------------------------------------


async def test_streak_with_heatmap_freezes_and_why(sim):
    alice, bob = sim.member("alice"), sim.member("bob")
    await enrol(sim, alice)
    for _ in range(7):
        await sim.slash(alice, "checkin", note="daily")
        sim.clock.advance(days=1)
    sim.clock.advance(days=1)  # one day missed: the freeze covers it
    shown = await sim.slash(alice, "streak")
    assert "🔥 **7 days** (best 7)" in shown.embeds[0]["description"]
    assert "🧊" not in shown.embeds[0]["description"]  # the freeze was spent on the missed day
    (name, png) = shown.files[0]
    assert name == "heatmap.png" and png.startswith(b"\x89PNG")
    assert shown.embeds[0]["image"]["url"] == "attachment://heatmap.png"
    why = await sim.slash(alice, "streak", why=True)
    description = why.embeds[0]["description"]
    assert "`2026-03-02` started a streak → 1 day" in description
    assert "`2026-03-08` counted; earned a freeze → 7 days" in description
    assert "1 day missed so far, covered by freezes (0 left)" in description
    others = await sim.slash(bob, "streak", member=alice)
    assert "7 days" in others.embeds[0]["description"]
    refused = await sim.slash(bob, "streak", member=alice, why=True)
    assert "your own streak only" in refused.content
    stranger = await sim.slash(alice, "streak", member=bob)
    assert "not on the roadmap" in stranger.content


# --- /leaderboard -----------------------------------------------------------------------------


async def test_leaderboard_pages_with_buttons_and_page_past_the_end(sim):
    people = [sim.member(f"m{i:02d}") for i in range(23)]
    for index, person in enumerate(people):
        await enrol(sim, person)
        for _ in range(1 + index % 3):
            await sim.slash(person, "checkin", note="x")
    first = await sim.slash(people[0], "leaderboard", board="checkins", period="week")
    assert first.ephemeral
    assert first.embeds[0]["footer"]["text"] == "Page 1 · more on the next page"
    assert first.embeds[0]["description"].count("\n") == 9
    second = await sim.click(people[0], first.message, label="Next ▶")
    assert second.embeds[0]["footer"]["text"] == "Page 2 · more on the next page"
    assert second.embeds[0]["description"].startswith("`#11` <@")
    past = await sim.slash(people[0], "leaderboard", board="checkins", page=9)
    assert past.ephemeral and "only 3 pages" in past.content
    empty = await sim.slash(people[0], "leaderboard", board="milestones", period="all")
    assert "Nobody on this board yet" in empty.embeds[0]["description"]
    assert empty.components == []


async def test_leaderboard_buttons_work_after_a_restart(sim):
    people = [sim.member(f"p{i:02d}") for i in range(12)]
    for person in people:
        await enrol(sim, person)
        await sim.slash(person, "checkin", note="x")
    first = await sim.slash(people[0], "leaderboard", board="streaks", period="all")
    await sim.restart_bot()
    second = await sim.click(people[0], first.message, label="Next ▶")
    assert second.embeds[0]["footer"]["text"] == "Page 2"
    labels = {c["label"]: c["disabled"] for r in second.components for c in r["components"]}
    assert labels == {"◀ Previous": False, "Next ▶": True}


# --- /roadmap import, role, recompute (moderators) -------------------------------------------


async def test_import_is_for_moderators_and_reports_lines(sim):
    alice, mod = sim.member("alice"), sim.member("mo", moderator=True)
    text = BUILTIN_PATH.read_text(encoding="utf-8")
    refused = await sim.slash(alice, "roadmap import", mode="replace", file=("r.toml", b"x"))
    assert "Only moderators" in refused.content
    broken = text.replace('key = "ml-core"', 'key = "ml-core"\nmonths = "three"', 1)
    bad = await sim.slash(mod, "roadmap import", mode="replace", file=("r.toml", broken.encode()))
    assert "line" in bad.content and "invalid TOML" in bad.content  # a key defined twice
    document = tomllib.loads(text)
    document["milestones"][0]["phase"] = "nowhere"
    as_json = json.dumps(document, indent=2)
    bad_json = await sim.slash(
        mod, "roadmap import", mode="replace", file=("r.json", as_json.encode())
    )
    line = next(n for n, text in enumerate(as_json.splitlines(), 1) if '"nowhere"' in text)
    assert f"line {line}: milestone 'python-core': phase must be one of" in bad_json.content
    assert await sim.services.db.fetch_value("SELECT count(*) FROM roadmap_custom") == 0
    extension = (
        '[[milestones]]\nkey = "kaggle"\nphase = "ml-core"\ntracks = ["ml_engineer"]\n'
        'title = "Enter a Kaggle competition"\ndescription = "Any one."\nskill = "Practice"\n'
    )
    ok = await sim.slash(mod, "roadmap import", mode="extend", file=("x.toml", extension.encode()))
    assert "extended: 2 tracks, 4 phases, 39 milestones" in ok.content
    await enrol(sim, alice, track="ml_engineer")
    assert "✅ Done" in (await sim.slash(alice, "roadmap milestone", milestone="kaggle")).content
    back = await sim.slash(mod, "roadmap import", mode="builtin")
    assert "Back to the built-in roadmap: 2 tracks, 4 phases, 38 milestones" in back.content
    assert "1 ticked milestone(s) it no longer offers are archived" in back.content
    fields = (await sim.slash(alice, "roadmap view")).embeds[0]["fields"]
    assert "🗄️ Enter a Kaggle competition (done " in fields[-1]["value"]
    missing = await sim.slash(mod, "roadmap import", mode="replace")
    assert "Attach the roadmap file" in missing.content


async def test_recompute_for_moderators(sim):
    alice, mod = sim.member("alice"), sim.member("mo", moderator=True)
    await enrol(sim, alice)
    await sim.slash(alice, "checkin", note="x")
    await sim.services.db.execute("UPDATE roadmap_members SET best_streak = 99")
    refused = await sim.slash(alice, "roadmap recompute")
    assert "Only moderators" in refused.content
    fixed = await sim.slash(mod, "roadmap recompute")
    assert "repaired 1" in fixed.content and "best_streak" in fixed.content
    clean = await sim.slash(mod, "roadmap recompute")
    assert "everything agrees" in clean.content


async def test_profile_timezone_autocomplete_and_bad_zone(sim):
    alice = sim.member("alice")
    await enrol(sim, alice)
    zones = await sim.autocomplete(alice, "profile timezone", focused="name", name="berl")
    assert zones[0]["value"] == "Europe/Berlin"
    ok = await sim.slash(alice, "profile timezone", name="Europe/Berlin")
    assert "Europe/Berlin" in ok.content
    bad = await sim.slash(alice, "profile timezone", name="Europe/Atlantis")
    assert bad.ephemeral and "not a time zone I know" in bad.content
    tz = await sim.services.db.fetch_value("SELECT timezone FROM roadmap_members")
    assert tz == "Europe/Berlin"
