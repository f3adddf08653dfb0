"""Markdown and link injection, end to end: member text never becomes the bot's links."""

from __future__ import annotations

from typing import Any

from bot.services.guild_settings import ChannelKind, RoleKind
from tests.markdown_render import line_markers, live_links

HOSTILE_TITLE = "x](https://evil.example/login) [Reviewers: verify here"
FORM = {
    "title": HOSTILE_TITLE,
    "repo_url": "https://github.com/alice/handbook-qa",
    "demo_url": "https://youtu.be/demo123",
    "description": "# Urgent\n[Verify your reviewer account](https://evil.example/login)",
    "feedback_wanted": "> everything\n@everyone please look",
}


def embed_markdown(message: Any) -> str:
    """The parts of a message's embeds that Discord renders as Markdown."""
    parts = [message.content]
    for embed in message.embeds:
        parts.append(embed.get("description", ""))
        parts += [field["value"] for field in embed.get("fields", [])]
    return "\n".join(parts)


def only_discord_links(text: str) -> bool:
    return all(url.startswith("https://discord.com/channels/") for _, url in live_links(text))


async def test_a_hostile_portfolio_title_is_no_link_in_the_post_queue_mine_or_nudge(sim) -> None:
    channel = sim.guild.channel("reviews")
    await sim.services.guild_settings.set_channel(sim.guild.id, ChannelKind.REVIEW, channel)
    await sim.services.guild_settings.set_role(
        sim.guild.id, RoleKind.REVIEWER, sim.guild.role("reviewer")
    )
    alice, rita = sim.member("alice"), sim.member("rita", roles=["reviewer"])
    checklist = await sim.slash(alice, "portfolio submit", archetype="rag_app")
    form = await sim.click(alice, checklist.message, label="Everything is ready")
    await sim.submit_modal(alice, form, FORM)

    (post,) = [m for m in sim.messages(channel) if m.embeds]
    rendered = embed_markdown(post)
    assert only_discord_links(rendered) and live_links(rendered) == []
    assert line_markers(rendered) == []
    queue = await sim.slash(rita, "portfolio queue")
    mine = await sim.slash(alice, "portfolio mine")
    for answer in (queue, mine):
        shown = embed_markdown(answer.message)
        assert "Reviewers: verify here" in shown
        assert only_discord_links(shown), live_links(shown)
    await sim.advance(hours=49)  # the unclaimed nudge, with a ping for the reviewers
    (nudge,) = [m for m in sim.messages(channel) if "without a reviewer" in m.content]
    assert nudge.pinged_role_ids == {sim.guild.role("reviewer")}
    shown = embed_markdown(nudge)
    assert "Reviewers: verify here" in shown
    assert [label for label, _ in live_links(shown)] == ["#1"]
    assert only_discord_links(shown)


async def test_check_in_text_and_blockers_are_shown_as_typed(sim) -> None:
    alice, mod = sim.member("alice"), sim.member("mo", moderator=True)
    qa = sim.guild.channel("qa")
    await sim.slash(mod, "config channel", kind="qa", channel=qa)
    await sim.slash(alice, "roadmap start", track="ai_engineer")
    form = await sim.slash(alice, "checkin")
    answer = await sim.submit_modal(
        alice,
        form,
        {
            "did": "# Done!\n[claim your prize](https://evil.example) <@&1> @here",
            "minutes": "30",
            "blockers": "- [help](https://evil.example/help)",
            "next": "> next",
        },
    )
    shown = embed_markdown(answer.message)
    assert live_links(shown) == [] and line_markers(shown) == []
    assert not answer.message.pinged
    await sim.click(alice, answer.message, label="Tell the mentors")
    (sent,) = sim.messages(qa)
    shown = embed_markdown(sent)
    assert live_links(shown) == [] and line_markers(shown) == []


async def test_an_escalated_question_is_shown_as_typed(sim) -> None:
    alice, mod = sim.member("alice"), sim.member("mo", moderator=True)
    qa = sim.guild.channel("qa")
    await sim.slash(mod, "config channel", kind="qa", channel=qa)
    question = "How do I [reset my password](https://evil.example/reset) for the GPU cluster?"
    answer = await sim.slash(alice, "ask", question=question)
    await sim.click(alice, answer.message, label="Ask a mentor")
    (post,) = sim.messages(qa)
    shown = embed_markdown(post)
    assert "reset my password" in shown and live_links(shown) == []
    gaps = await sim.slash(mod, "kb gaps")
    assert live_links(embed_markdown(gaps.message)) == []
