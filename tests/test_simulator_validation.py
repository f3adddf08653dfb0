"""The simulator refuses what Discord refuses, with Discord's error shape: one test per rule."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.state import APPLICATION_COMMAND, AUTOCOMPLETE, MESSAGE_COMPONENT


async def post(sim, payload: dict[str, Any]) -> tuple[int, Any]:
    return await sim.api("POST", f"/channels/{sim.guild.channel('general')}/messages", payload)


def interaction(sim, type_: int = APPLICATION_COMMAND, message=None):
    """An interaction the bot never sees, answered by hand as a misbehaving bot would."""
    alice = sim.member("alice")
    return sim.server.state.new_interaction(
        type_,
        alice,
        sim.guild.id,
        sim.guild.channel("general"),
        {},
        message_id=message.id if message else None,
    )


async def respond(sim, item, kind: int, data: dict[str, Any]) -> tuple[int, Any]:
    path = f"/interactions/{item.id}/{item.token}/callback?with_response=1"
    return await sim.api("POST", path, {"type": kind, "data": data}, token=False)


# The HTTP status Discord answers with each error code these tests expect.
STATUS_OF_CODE = {50035: 400, 50006: 400, 40060: 400, 10062: 404, 50027: 401}


def refused(sim, status: int, body: Any, code: int = 50035) -> Any:
    """Assert Discord's error answer; return its `errors` tree. Clears the recorded problem."""
    assert status == STATUS_OF_CODE[code]
    assert body["code"] == code
    [problem] = sim.take_problems()
    assert problem.body == body
    if code == 50035:
        assert body["message"] == "Invalid Form Body"
        return body["errors"]
    return None


def max_length_error(node: dict[str, Any], limit: int) -> None:
    [error] = node["_errors"]
    assert error == {
        "code": "BASE_TYPE_MAX_LENGTH",
        "message": f"Must be {limit} or fewer in length.",
    }


def embed(**fields: Any) -> dict[str, Any]:
    return {"title": "t", **fields}


# --- message content and embeds ----------------------------------------------------------


async def test_content_of_2000_is_accepted_and_2001_refused(sim):
    status, _ = await post(sim, {"content": "x" * 2000})
    assert status == 200
    status, body = await post(sim, {"content": "x" * 2001})
    max_length_error(refused(sim, status, body)["content"], 2000)
    assert len(sim.messages(sim.guild.channel("general"))) == 1  # the refused one is not kept


async def test_embed_title_over_256(sim):
    status, body = await post(sim, {"embeds": [embed(title="t" * 257)]})
    max_length_error(refused(sim, status, body)["embeds"]["0"]["title"], 256)


async def test_embed_description_over_4096(sim):
    status, body = await post(sim, {"embeds": [embed(description="d" * 4097)]})
    max_length_error(refused(sim, status, body)["embeds"]["0"]["description"], 4096)


async def test_more_than_25_embed_fields(sim):
    fields = [{"name": f"f{i}", "value": "v"} for i in range(26)]
    status, body = await post(sim, {"embeds": [embed(fields=fields)]})
    max_length_error(refused(sim, status, body)["embeds"]["0"]["fields"], 25)


async def test_embed_field_name_over_256(sim):
    fields = [{"name": "n" * 257, "value": "v"}]
    status, body = await post(sim, {"embeds": [embed(fields=fields)]})
    max_length_error(refused(sim, status, body)["embeds"]["0"]["fields"]["0"]["name"], 256)


async def test_embed_field_value_over_1024(sim):
    fields = [{"name": "n", "value": "v" * 1025}]
    status, body = await post(sim, {"embeds": [embed(fields=fields)]})
    max_length_error(refused(sim, status, body)["embeds"]["0"]["fields"]["0"]["value"], 1024)


async def test_embed_footer_over_2048(sim):
    status, body = await post(sim, {"embeds": [embed(footer={"text": "f" * 2049})]})
    max_length_error(refused(sim, status, body)["embeds"]["0"]["footer"]["text"], 2048)


async def test_embed_author_name_over_256(sim):
    status, body = await post(sim, {"embeds": [embed(author={"name": "a" * 257})]})
    max_length_error(refused(sim, status, body)["embeds"]["0"]["author"]["name"], 256)


async def test_embeds_over_6000_characters_in_total(sim):
    # Each embed is within its own limits; together they pass 6,000.
    embeds = [embed(title="", description="d" * 3001), embed(title="", description="d" * 3000)]
    status, _ = await post(sim, {"embeds": [embed(title="", description="d" * 3000)] * 2})
    assert status == 200
    status, body = await post(sim, {"embeds": embeds})
    [error] = refused(sim, status, body)["embeds"]["_errors"]
    assert error["code"] == "MAX_EMBED_SIZE_EXCEEDED"


async def test_more_than_10_embeds(sim):
    status, body = await post(sim, {"embeds": [embed()] * 11})
    max_length_error(refused(sim, status, body)["embeds"], 10)


# --- components -----------------------------------------------------------------------------


def button(custom_id: str = "feature:action:1", label: str = "Go") -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": label, "custom_id": custom_id}


def row(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(items)}


async def test_more_than_5_component_rows(sim):
    status, body = await post(sim, {"content": "x", "components": [row(button())] * 6})
    max_length_error(refused(sim, status, body)["components"], 5)


async def test_more_than_5_buttons_in_a_row(sim):
    buttons = [button(f"b:{i}") for i in range(6)]
    status, body = await post(sim, {"content": "x", "components": [row(*buttons)]})
    max_length_error(refused(sim, status, body)["components"]["0"]["components"], 5)


async def test_custom_id_over_100(sim):
    status, _ = await post(sim, {"content": "x", "components": [row(button("c" * 100))]})
    assert status == 200
    status, body = await post(sim, {"content": "x", "components": [row(button("c" * 101))]})
    errors = refused(sim, status, body)["components"]["0"]["components"]["0"]["custom_id"]
    max_length_error(errors, 100)


async def test_select_with_more_than_25_options(sim):
    options = [{"label": f"o{i}", "value": f"o{i}"} for i in range(26)]
    select = {"type": 3, "custom_id": "pick", "options": options}
    status, body = await post(sim, {"content": "x", "components": [row(select)]})
    errors = refused(sim, status, body)["components"]["0"]["components"]["0"]["options"]
    max_length_error(errors, 25)


# --- modals and autocomplete ------------------------------------------------------------------


def modal(title: str = "A note", label: str = "Your note") -> dict[str, Any]:
    text = {"type": 4, "custom_id": "note", "style": 1, "label": label}
    return {"custom_id": "m", "title": title, "components": [row(text)]}


async def test_modal_title_over_45(sim):
    status, _ = await respond(sim, interaction(sim), 9, modal(title="t" * 45))
    assert status == 200
    status, body = await respond(sim, interaction(sim), 9, modal(title="t" * 46))
    max_length_error(refused(sim, status, body)["data"]["title"], 45)


async def test_modal_text_input_label_over_45(sim):
    status, body = await respond(sim, interaction(sim), 9, modal(label="l" * 46))
    errors = refused(sim, status, body)["data"]["components"]["0"]["components"]["0"]["label"]
    max_length_error(errors, 45)


async def test_modal_text_input_in_a_label_may_have_a_null_label(sim):
    text = {"type": 4, "custom_id": "note", "style": 1, "label": None}
    labelled = {"type": 18, "label": "Your note", "component": text}
    data = {"custom_id": "m", "title": "A note", "components": [labelled]}
    status, _ = await respond(sim, interaction(sim), 9, data)
    assert status == 200


async def test_more_than_25_autocomplete_choices(sim):
    choices = [{"name": f"c{i}", "value": f"c{i}"} for i in range(26)]
    status, body = await respond(sim, interaction(sim, AUTOCOMPLETE), 8, {"choices": choices})
    max_length_error(refused(sim, status, body)["data"]["choices"], 25)


@pytest.mark.parametrize("key", ["name", "value"])
async def test_autocomplete_choice_name_or_value_over_100(sim, key):
    choice = {"name": "n", "value": "v", key: "x" * 101}
    item = interaction(sim, AUTOCOMPLETE)
    status, body = await respond(sim, item, 8, {"choices": [choice]})
    max_length_error(refused(sim, status, body)["data"]["choices"]["0"][key], 100)


# --- interaction timing and tokens ---------------------------------------------------------------


async def test_an_interaction_answered_twice(sim):
    item = interaction(sim)
    status, _ = await respond(sim, item, 4, {"content": "first"})
    assert status == 200
    status, body = await respond(sim, item, 4, {"content": "second"})
    refused(sim, status, body, code=40060)
    assert body["message"] == "Interaction has already been acknowledged."


async def test_an_interaction_answered_after_3_seconds_without_defer(sim):
    item = interaction(sim)
    sim.age_interactions(3.01)
    status, body = await respond(sim, item, 4, {"content": "late"})
    assert status == 404
    refused(sim, status, body, code=10062)
    assert body["message"] == "Unknown interaction"


async def test_a_deferred_interaction_can_be_completed_later(sim):
    item = interaction(sim)
    status, _ = await respond(sim, item, 5, {"flags": 64})
    sim.age_interactions(60)
    app = sim.server.state.application_id
    status, body = await sim.api(
        "PATCH", f"/webhooks/{app}/{item.token}/messages/@original", {"content": "done"}
    )
    assert status == 200 and body["content"] == "done" and body["flags"] == 64


async def test_an_interaction_token_used_after_15_minutes(sim):
    item = interaction(sim)
    await respond(sim, item, 5, {})
    sim.age_interactions(15 * 60 + 1)
    app = sim.server.state.application_id
    status, body = await sim.api("POST", f"/webhooks/{app}/{item.token}", {"content": "late"})
    assert status == 401
    refused(sim, status, body, code=50027)
    assert body["message"] == "Invalid Webhook Token"


async def test_an_update_callback_needs_a_component_interaction(sim):
    status, body = await respond(sim, interaction(sim), 7, {"content": "x"})
    assert refused(sim, status, body)["type"]["_errors"][0]["code"] == (
        "INTERACTION_RESPONSE_TYPE_INVALID"
    )


async def test_ephemeral_flag_on_a_channel_message(sim):
    status, body = await post(sim, {"content": "secret", "flags": 64})
    assert refused(sim, status, body)["flags"]["_errors"][0]["code"] == "MESSAGE_FLAGS_INVALID"
    assert sim.messages(sim.guild.channel("general")) == []


async def test_ephemeral_flag_is_fine_on_interaction_answers(sim):
    message = sim.server.state.add_message(sim.guild.channel("general"), 1, content="card")
    item = interaction(sim, MESSAGE_COMPONENT, message)
    status, body = await respond(sim, item, 4, {"content": "only you", "flags": 64})
    assert status == 200
    assert body["resource"]["message"]["flags"] == 64


async def test_an_empty_message(sim):
    status, body = await post(sim, {"content": ""})
    refused(sim, status, body, code=50006)
