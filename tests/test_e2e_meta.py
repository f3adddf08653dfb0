"""/ping and /help end to end."""

from __future__ import annotations

from tests.probe_cog import ProbeCog


async def test_ping_answers_privately_with_the_latency(sim):
    r = await sim.slash(sim.member("alice"), "ping")
    assert r.ephemeral
    assert r.content.startswith("Pong. Gateway latency: ")
    assert r.content.endswith(" ms.")


async def test_help_lists_every_command_group_of_the_live_tree(sim):
    alice = sim.member("alice")
    r = await sim.slash(alice, "help")
    assert r.ephemeral
    fields = {f["name"]: f["value"] for f in r.embeds[0]["fields"]}
    slash = [c for c in sim.server.state.global_commands if c.get("type", 1) == 1]
    assert set(fields) == {f"/{c['name']}" for c in slash}
    assert "`/config timezone`: Set the server's default time zone" in fields["/config"]

    await sim.add_cog(ProbeCog(sim.bot))  # a capability that lands later shows up by itself
    again = await sim.slash(alice, "help")
    probe = next(f for f in again.embeds[0]["fields"] if f["name"] == "/probe")
    assert "`/probe echo`: Say it back" in probe["value"]


def test_help_stays_within_discords_embed_limits_however_many_commands():
    from discord import app_commands

    from cogs.meta import help_embed

    async def noop(interaction) -> None: ...

    groups = []
    for n in range(30):
        group = app_commands.Group(name=f"g{n:02d}", description="A group")
        for m in range(20):
            group.add_command(
                app_commands.Command(name=f"c{m:02d}", description="x" * 90, callback=noop)
            )
        groups.append(group)

    class Tree:
        def get_commands(self, *, type=None):
            return groups

    embed = help_embed(Tree())  # type: ignore[arg-type]
    assert len(embed) <= 6000 and 0 < len(embed.fields) <= 25
    assert all(len(f.value) <= 1024 for f in embed.fields)
