"""Export and erasure are complete: a walk over every table and column of the schema.

Alice does everything a member (and a moderator, and a reviewer) can do, each time with
words of her own that appear nowhere else. Before erasure, every table that names her must
be covered by her export. After erasure, no integer column anywhere holds her id, and no
text (or blob) column holds her id or any of her words, in any table, FTS index included,
except the content she wrote for the server as a moderator (a custom challenge, a weekly
challenge, a knowledge-base document): that stays the server's, with her name removed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.clock import FixedClock
from bot.services.challenges.model import Kind
from bot.services.guild_settings import ChannelKind
from bot.services.portfolio.models import Actor
from bot.services.roadmap.catalog import ImportMode
from bot.services.scheduled_posts import NUDGE_KIND, REMIND_KIND
from bot.wiring import Services
from tests.portfolio_helpers import a_review, reviewer, submit
from tests.schema import describe

GUILD = 424_242_424_242_424_242
ALICE = 987_654_321_987_654_321
BOB = 876_543_210_876_543_210
MOD = 765_432_109_765_432_109
CHANNEL, THREAD = 11_111, 22_222
ROADMAP_FILE = Path(__file__).resolve().parent.parent / "content" / "roadmap" / "roadmap.toml"

# Alice's own words, one per place she can write; none of them occurs anywhere else.
WORDS = {
    "checkin": "quokkacheckin did the zanzibar exercise",
    "blocker": "quokkablocker stuck on gradients",
    "next": "quokkanext tune the optimiser",
    "question": "What is quokkaquestion retrieval augmented generation",
    "private": "Is quokkaprivate salary talk allowed",
    "promoted_reply": "quokkareply start with linear algebra videos",
    "document": "quokkadocument study group rules",
    "portfolio": "Quokkaportfolio handbook assistant",
    "review": "quokkareview strong retrieval module",
    "rating": "quokkarating very helpful review",
    "submission": "quokkasubmission notes on my rag demo",
    "weekly": "Quokkaweekly build an agent",
    "custom": "Quokkacustom reverse a list",
    "override": "quokkaoverride recount after appeal",
}
# Written for the server as a moderator: it stays, unnamed (README, "What Mentor stores").
SERVER_CONTENT = {"custom", "weekly", "document"}

# Where each table that can name a member appears in the export: (section, key).
EXPORT_OF = {
    "roadmap_members": ("roadmap", "memberships"),
    "roadmap_checkins": ("roadmap", "checkins"),
    "roadmap_milestones": ("roadmap", "milestones"),
    "roadmap_pauses": ("roadmap", "pauses"),
    "roadmap_phase_entries": ("roadmap", "phase_entries"),
    "roadmap_period_stats": ("roadmap", "period_stats"),
    "roadmap_buddy_requests": ("roadmap", "buddy_requests"),
    "roadmap_custom": ("roadmap", "roadmaps_imported"),
    "scheduled_posts": ("scheduled_posts", "reminders_and_nudges_sent"),
    "daily_answers": ("challenges", "daily_answers"),
    "daily_hints": ("challenges", "hints"),
    "challenge_submissions": ("challenges", "submissions"),
    "challenge_points": ("challenges", "points"),
    "weekly_score_overrides": ("challenges", "score_overrides"),
    "challenge_custom": ("challenges", "challenges_added"),
    "challenge_disabled": ("challenges", "challenges_disabled"),
    "weekly_challenges": ("challenges", "weekly_challenges_created"),
    "portfolio_requests": ("portfolio", "requests"),
    "portfolio_reviews": ("portfolio", "reviews_written"),
    "qa_questions": ("qa", "questions"),
    "qa_votes": ("qa", "votes"),
    "qa_escalations": ("qa", "escalations"),
    "qa_threads": ("qa", "follow_up_threads"),
    "qa_documents": ("qa", "knowledge_base_quoting_you"),
    "qa_chunks": ("qa", "knowledge_base_quoting_you"),
    "qa_guild_limits": ("qa", "budgets_you_set"),
    "member_posts": ("bot_posts", "posts_quoting_you"),
}
# Derived from other tables (the full-text index of qa_chunks): walked, not exported.
DERIVED = {"qa_chunks_fts", "qa_chunks_fts_data", "qa_chunks_fts_idx", "qa_chunks_fts_docsize"}


async def cells_naming(
    services: Services, user_id: int, *, keep: set[str] = frozenset()
) -> dict[str, list[str]]:
    """table -> ['column: value', ...] for every cell that names the member or holds their
    words (but the words of `keep`)."""
    # Each phrase carries one made-up word (quokka...): found even when the phrase is cut.
    words = [
        next(w for w in phrase.lower().split() if "quokka" in w)
        for name, phrase in WORDS.items()
        if name not in keep
    ]
    found: dict[str, list[str]] = {}
    db = services.db
    tables = {name: list(table.columns) for name, table in (await describe(db)).items()}
    if db.engine == "sqlite":  # the full-text index keeps its own copy of the text
        tables["qa_chunks_fts"] = ["title", "section", "body"]
    for table, columns in tables.items():
        for row in await db.fetch_all(f"SELECT {', '.join(columns)} FROM {table}"):
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, int) and value == user_id:
                    found.setdefault(table, []).append(f"{column}: {value}")
                elif isinstance(value, str | bytes):
                    text = value.decode("latin-1") if isinstance(value, bytes) else value
                    text = text.lower()
                    if str(user_id) in text or any(w in text for w in words):
                        found.setdefault(table, []).append(f"{column}: {text[:80]!r}")
    return found


async def ask(services: Services, user: int, question: str, *, public: bool = True) -> int:
    qa = services.qa
    ticket = await qa.reserve(GUILD, user, CHANNEL, question, public=public)
    await qa.answer(ticket)
    return ticket.question_id


async def alice_does_everything(services: Services, clock: FixedClock) -> None:
    gs = services.guild_settings
    await gs.set_channel(GUILD, ChannelKind.CHALLENGE, CHANNEL)
    await gs.set_channel(GUILD, ChannelKind.QA, CHANNEL)
    roadmap, challenges, qa = services.roadmap, services.challenges, services.qa

    # Roadmap: enrolment, check-ins, milestones, a pause, a buddy, reminders, an import.
    for member in (ALICE, BOB):
        await roadmap.members.start(GUILD, member, "ai_engineer")
    (_, milestone), *_ = await roadmap.members.milestone_choices(GUILD, ALICE, "")
    await roadmap.checkins.checkin(
        GUILD, ALICE, WORDS["checkin"], 30, WORDS["blocker"], WORDS["next"], milestone
    )
    await roadmap.checkins.checkin(GUILD, BOB, "bob studied", 20)
    await roadmap.members.pause(GUILD, ALICE)
    clock.advance(days=1)
    await roadmap.members.resume(GUILD, ALICE)
    await roadmap.buddies.request(GUILD, ALICE, BOB)
    await roadmap.buddies.accept(GUILD, BOB)
    await roadmap.reminders.turn_on(GUILD, ALICE, "19:00")
    await services.scheduled_posts.claim(GUILD, REMIND_KIND, f"{ALICE}:2026-03-03")
    await services.scheduled_posts.claim(GUILD, NUDGE_KIND, f"{ALICE}:2026-03-02")
    await roadmap.catalog.import_file(
        GUILD, ALICE, "roadmap.toml", ROADMAP_FILE.read_bytes(), ImportMode.REPLACE
    )
    await services.member_posts.record(GUILD, ALICE, CHANNEL, 555_001, "checkin")

    # Challenges: a quiz answer with a hint and a daily task, as whichever comes first.
    answered = submitted = False
    day = clock.now().date()
    while not (answered and submitted):
        post = await challenges.daily.prepare(GUILD, day.isoformat())
        await challenges.daily.record_posted(post.id, CHANNEL, 600_000 + post.id, None)
        if post.challenge.kind is Kind.QUIZ and not answered:
            await challenges.daily.hint(GUILD, post.id, ALICE)
            await challenges.daily.answer(GUILD, post.id, ALICE, post.challenge.correct_index)
            answered = True
        elif post.challenge.kind is Kind.TASK and not submitted:
            await challenges.submissions.submit(
                GUILD, ALICE, "daily", str(post.id), "https://github.com/a/t", WORDS["submission"]
            )
            submitted = True
        clock.advance(days=1)
        day += timedelta(days=1)
    # As a moderator: a custom challenge, a disabled one, a weekly challenge, a review.
    await challenges.bank.add(
        GUILD,
        ALICE,
        {
            "id": "alice-reverse",
            "title": WORDS["custom"],
            "kind": "task",
            "phase": "foundations",
            "topic": "python",
            "difficulty": "easy",
            "prompt": "Reverse a list in place.",
            "hint": "Two indices.",
            "tags": [],
        },
    )
    await challenges.bank.disable(GUILD, ALICE, challenges.bank.shipped[0].id)
    weekly = await challenges.weekly.create(
        GUILD,
        ALICE,
        title=WORDS["weekly"],
        brief="Build it.",
        rules="Solo.",
        deadline=(clock.now() + timedelta(days=3)).strftime("%Y-%m-%d %H:%M"),
    )
    await challenges.weekly.mark_started(weekly.id, CHANNEL, 700_001, None)
    for member, notes in ((ALICE, WORDS["submission"]), (BOB, "bob's notes")):
        await challenges.submissions.submit(
            GUILD, member, "weekly", str(weekly.id), "https://github.com/x/w", notes
        )
    rows = await services.db.fetch_all(
        "SELECT id, user_id FROM challenge_submissions WHERE kind = 'weekly'"
    )
    ids = {r["user_id"]: r["id"] for r in rows}
    await challenges.submissions.review(
        GUILD, ids[BOB], ALICE, accept=True, comment="nice", points=40
    )
    await challenges.submissions.review(GUILD, ids[ALICE], MOD, accept=True, comment="", points=50)
    await challenges.weekly.override(GUILD, ids[ALICE], MOD, 55, WORDS["override"])
    await challenges.weekly.override(GUILD, ids[BOB], ALICE, 45, "recount for bob")

    # Portfolio: her request reviewed by Bob and rated; her review of Bob's request.
    portfolio = services.portfolio
    mine = await submit(portfolio, ALICE, guild=GUILD, title=WORDS["portfolio"])
    await portfolio.claim(GUILD, mine.id, reviewer(BOB))
    await portfolio.submit_review(GUILD, mine.id, reviewer(BOB), a_review(portfolio))
    await portfolio.attach_review_message(mine.id, 800_001)
    await portfolio.rate(GUILD, mine.id, Actor(ALICE), 5, WORDS["rating"])
    bobs = await submit(portfolio, BOB, guild=GUILD, title="Bob's agent")
    await portfolio.claim(GUILD, bobs.id, reviewer(ALICE))
    draft = a_review(portfolio)
    draft = type(draft)(draft.scores, WORDS["review"], "More tests.")
    await portfolio.submit_review(GUILD, bobs.id, reviewer(ALICE), draft)
    await portfolio.attach_review_message(bobs.id, 800_002)

    # Q&A: questions (public and private), votes, an escalation, a thread, promotions.
    question = await ask(services, ALICE, WORDS["question"])
    await ask(services, ALICE, WORDS["private"], public=False)
    bob_question = await ask(services, BOB, "How should I start with maths?")
    await qa.feedback.vote(question, GUILD, ALICE, up=True)
    await qa.feedback.vote(question, GUILD, BOB, up=False)
    await qa.feedback.vote(bob_question, GUILD, ALICE, up=True)
    escalation = await qa.feedback.start_escalation(question, GUILD, ALICE, CHANNEL)
    await qa.feedback.record_escalation(escalation, 900_001, THREAD)
    await qa.feedback.record_thread(THREAD + 1, GUILD, question, ALICE)
    await qa.feedback.promote(
        GUILD, MOD, title=WORDS["question"], answer="Bob: read the RAG survey.",
        question_id=question, author_id=BOB,
    )  # fmt: skip
    await qa.feedback.promote(
        GUILD, MOD, title="How should I start with maths?", answer=WORDS["promoted_reply"],
        question_id=bob_question, author_id=ALICE,
    )  # fmt: skip
    await qa.kb.add_document(GUILD, f"# {WORDS['document']}\n\nBe kind.", user_id=ALICE)
    await qa.limits.set(GUILD, ALICE, member_daily_tokens=500, guild_daily_tokens=None)


async def test_export_covers_every_table_that_names_the_member(
    services: Services, clock: FixedClock
) -> None:
    await alice_does_everything(services, clock)
    naming = await cells_naming(services, ALICE)
    export = json.loads((await services.privacy.export_member(ALICE)).to_json())["sections"]
    missing = []
    for table in sorted(set(naming) - DERIVED):
        if table not in EXPORT_OF:
            missing.append(f"{table} (no export section: {naming[table][:2]})")
            continue
        section, key = EXPORT_OF[table]
        if not export.get(section, {}).get(key):
            missing.append(f"{table} -> {section}.{key} is empty")
    assert missing == []
    text = json.dumps(export).lower()
    assert all(word.lower() in text for word in WORDS.values() if word != WORDS["override"])


async def test_after_erasure_no_table_or_column_names_the_member(
    services: Services, clock: FixedClock
) -> None:
    await alice_does_everything(services, clock)
    assert len(await cells_naming(services, ALICE)) > 20  # she is everywhere before
    report = await services.privacy.delete_member(ALICE)
    assert report.failed_sections == ()
    left: dict[str, Any] = await cells_naming(services, ALICE, keep=SERVER_CONTENT)
    assert left == {}
    # Only Alice went: Bob's own data is still there.
    assert await cells_naming(services, BOB)
    assert (
        await services.db.fetch_value(
            "SELECT count(*) FROM roadmap_checkins WHERE user_id = ?", (BOB,)
        )
        == 1
    )
    # What the bot posted quoting her is queued for deletion (threads for a new name).
    queued = await services.member_posts.due_cleanups(clock.now(), 50)
    assert {(c.message_id, str(c.action)) for c in queued} >= {
        (555_001, "delete"),
        (900_001, "delete"),
        (THREAD, "rename"),
        (THREAD + 1, "rename"),
        (800_001, "delete"),
        (800_002, "delete"),
    }
