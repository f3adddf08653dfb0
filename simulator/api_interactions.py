"""Interaction callbacks and the interaction webhook (original response and follow-ups).

Discord's rules enforced here: one callback per interaction (40060), within 3 seconds of
the interaction being sent unless deferred (10062), a token that works for 15 minutes
(50027 afterwards), and callback types that fit the interaction type.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.discord_limits import (
    INVALID_FORM_BODY,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_WEBHOOK,
)
from simulator import payloads, validation
from simulator.api import API_PREFIX, ApiError, Handler, Host, json_response, no_content, read_body
from simulator.api import rejected as form_rejected
from simulator.api_channels import check_message, check_not_empty, create_message, edit_message
from simulator.state import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    EPHEMERAL,
    LOADING,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    SimInteraction,
    SimMessage,
)

RESPONSE_DEADLINE = 3.0  # seconds to the first callback
TOKEN_LIFETIME = 15 * 60.0  # seconds an interaction token works for follow-ups and edits
MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {MESSAGE, DEFERRED_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL},
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
}
FINAL_CALLBACKS = {MESSAGE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL}


class InteractionRoutes:
    def __init__(self, sim: Host) -> None:
        self.sim = sim
        self.state = sim.state

    def routes(self) -> list[tuple[str, str, Handler]]:
        p = API_PREFIX
        original = f"{p}/webhooks/{{application_id}}/{{token}}/messages/@original"
        by_id = f"{p}/webhooks/{{application_id}}/{{token}}/messages/{{message_id}}"
        return [
            ("POST", f"{p}/interactions/{{interaction_id}}/{{token}}/callback", self.callback),
            ("GET", original, self.get_original),
            ("PATCH", original, self.edit_original),
            ("DELETE", original, self.delete_original),
            ("POST", f"{p}/webhooks/{{application_id}}/{{token}}", self.followup),
            ("GET", by_id, self.get_followup),
            ("PATCH", by_id, self.edit_followup),
            ("DELETE", by_id, self.delete_followup),
        ]

    # --- the callback --------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        interaction = self.state.interactions.get(_int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction", record=True)
        if interaction.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.", record=True)
        if self.state.monotonic() - interaction.created > RESPONSE_DEADLINE:
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction", record=True)
        body, uploads = await read_body(request)
        kind, data = body.get("type"), body.get("data") or {}
        if kind not in ALLOWED_CALLBACKS.get(interaction.type, set()) or (
            kind in (DEFERRED_UPDATE, UPDATE_MESSAGE) and interaction.message_id is None
        ):
            errors = {"type": {"_errors": [_invalid(f"Callback type {kind} is not valid here")]}}
            raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors, record=True)

        message: SimMessage | None = None
        if kind == MESSAGE:
            check_message(data, uploads, ephemeral=True)
            check_not_empty(data, uploads)
            message = self._response_message(interaction, data, uploads)
        elif kind == DEFERRED_MESSAGE:
            flags = LOADING | ((data.get("flags") or 0) & EPHEMERAL)
            message = self._response_message(interaction, {}, [], flags=flags)
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            message = self.state.messages[interaction.message_id]  # type: ignore[index]
            interaction.original_id = message.id
            if kind == UPDATE_MESSAGE:
                check_message(data, uploads, ephemeral=True)
                edit_message(self.sim, message, data, uploads)
        elif kind == AUTOCOMPLETE_RESULT:
            errors = validation.check_choices(data)
            if errors:
                raise form_rejected(errors.body())
            interaction.choices = data.get("choices") or []
        elif kind == MODAL:
            errors = validation.check_modal(data)
            if errors:
                raise form_rejected(errors.body())
            interaction.modal = data

        interaction.response_type = kind
        interaction.responded = self.state.monotonic()
        interaction.acknowledged.set()
        if kind in FINAL_CALLBACKS:
            self._complete(interaction)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return no_content()
        return json_response(self._callback_body(interaction, kind, message))

    def _response_message(
        self,
        interaction: SimInteraction,
        data: dict[str, Any],
        uploads: list[Any],
        flags: int = 0,
    ) -> SimMessage:
        channel = self.state.channels[interaction.channel_id]
        message = create_message(
            self.sim,
            channel,
            self.state.bot_user.id,
            data,
            uploads,
            flags=flags,
            webhook_id=self.state.application_id,
            interaction_id=interaction.id,
        )
        interaction.original_id = message.id
        return message

    def _callback_body(
        self, interaction: SimInteraction, kind: int, message: SimMessage | None
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            summary.update(
                {
                    "response_message_id": str(message.id),
                    "response_message_loading": message.loading,
                    "response_message_ephemeral": message.ephemeral,
                }
            )
            if kind != DEFERRED_UPDATE:
                resource["message"] = payloads.message(self.state, self.sim.base_url, message)
        return {"interaction": summary, "resource": resource}

    def _complete(self, interaction: SimInteraction) -> None:
        interaction.completed = True
        interaction.answered.set()

    # --- the webhook: original response and follow-ups ------------------------------------

    def interaction(self, request: web.Request) -> SimInteraction:
        interaction = self.state.interactions_by_token.get(request.match_info["token"])
        if interaction is None or _int(request.match_info["application_id"]) != (
            self.state.application_id
        ):
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook", record=True)
        if self.state.monotonic() - interaction.created > TOKEN_LIFETIME:
            raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token", record=True)
        return interaction

    def original(self, interaction: SimInteraction) -> SimMessage:
        message = self.state.messages.get(interaction.original_id or 0)
        if message is None or message.deleted:
            raise ApiError(404, 10008, "Unknown Message", record=True)
        return message

    def render(self, message: SimMessage) -> dict[str, Any]:
        return payloads.message(self.state, self.sim.base_url, message)

    async def get_original(self, request: web.Request) -> web.Response:
        return json_response(self.render(self.original(self.interaction(request))))

    async def edit_original(self, request: web.Request) -> web.Response:
        interaction = self.interaction(request)
        message = self.original(interaction)
        payload, uploads = await read_body(request)
        check_message(payload, uploads, ephemeral=True)
        if message.loading:
            check_not_empty(payload, uploads)
        edit_message(self.sim, message, payload, uploads)
        self._complete(interaction)
        return json_response(self.render(message))

    async def delete_original(self, request: web.Request) -> web.Response:
        interaction = self.interaction(request)
        self.original(interaction).deleted = True
        self._complete(interaction)
        return no_content()

    async def followup(self, request: web.Request) -> web.Response:
        interaction = self.interaction(request)
        if interaction.response_type is None:
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook", record=True)
        payload, uploads = await read_body(request)
        check_message(payload, uploads, ephemeral=True)
        check_not_empty(payload, uploads)
        original = self.state.messages.get(interaction.original_id or 0)
        if original is not None and original.loading:
            # The first follow-up after a "thinking" defer replaces the loading message.
            edit_message(self.sim, original, payload, uploads)
            message = original
        else:
            channel = self.state.channels[interaction.channel_id]
            message = create_message(
                self.sim,
                channel,
                self.state.bot_user.id,
                payload,
                uploads,
                webhook_id=self.state.application_id,
                interaction_id=interaction.id,
            )
            interaction.followup_ids.append(message.id)
        self._complete(interaction)
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(self.render(message))
        return no_content()

    def followup_message(self, request: web.Request, interaction: SimInteraction) -> SimMessage:
        message_id = _int(request.match_info["message_id"])
        message = self.state.messages.get(message_id)
        if message is None or message.deleted or message.interaction_id != interaction.id:
            raise ApiError(404, 10008, "Unknown Message", record=True)
        return message

    async def get_followup(self, request: web.Request) -> web.Response:
        interaction = self.interaction(request)
        return json_response(self.render(self.followup_message(request, interaction)))

    async def edit_followup(self, request: web.Request) -> web.Response:
        interaction = self.interaction(request)
        message = self.followup_message(request, interaction)
        payload, uploads = await read_body(request)
        check_message(payload, uploads, ephemeral=True)
        edit_message(self.sim, message, payload, uploads)
        return json_response(self.render(message))

    async def delete_followup(self, request: web.Request) -> web.Response:
        interaction = self.interaction(request)
        self.followup_message(request, interaction).deleted = True
        return no_content()


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _invalid(message: str) -> dict[str, str]:
    return {"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": message}
