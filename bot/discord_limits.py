"""Discord's limits and error codes: every number of Discord's the bot respects or recognises.

The limits are those of Discord's OpenAPI spec for API v10 (each names the schema and the
property it comes from); the simulator (simulator/validation.py) refuses what breaks them,
as Discord does. Nothing here imports discord: services use the limits too.
"""

from __future__ import annotations

# --- Messages and embeds --------------------------------------------------------------------

# MessageCreateRequest.content says 4000, the limit of Nitro users; bots are held to 2000
# (IncomingWebhookInteractionRequest.content and IncomingWebhookRequestPartial.content).
MESSAGE = 2000
EMBEDS = 10  # MessageCreateRequest.embeds maxItems
EMBED_TITLE = 256  # RichEmbed.title maxLength
EMBED_DESCRIPTION = 4096  # RichEmbed.description maxLength
EMBED_FIELDS = 25  # RichEmbed.fields maxItems
FIELD_NAME = 256  # RichEmbedField.name maxLength
FIELD_VALUE = 1024  # RichEmbedField.value maxLength
EMBED_FOOTER = 2048  # RichEmbedFooter.text maxLength
EMBED_AUTHOR = 256  # RichEmbedAuthor.name maxLength
# Not in the spec's schemas: documented under "Embed Limits" (all embeds of one message).
EMBEDS_TOTAL = 6000
ATTACHMENTS = 10  # MessageCreateRequest.attachments maxItems
NONCE = 25  # MessageCreateRequest.nonce: a string of at most 25, or a 64-bit integer

# --- Components, forms and commands -------------------------------------------------------

# ActionRowComponentForMessageRequest.components maxItems; classic messages get 5 rows (the
# top level allows 40 items only with the IS_COMPONENTS_V2 flag).
ROW_ITEMS = 5
ROWS = 5
CUSTOM_ID = 100  # ButtonComponentForMessageRequest.custom_id maxLength (and every other)
BUTTON_LABEL = 80  # ButtonComponentForMessageRequest.label maxLength
SELECT_OPTIONS = 25  # StringSelectComponentForMessageRequest.options maxItems
SELECT_PLACEHOLDER = 150  # StringSelectComponentForMessageRequest.placeholder maxLength
OPTION_TEXT = 100  # StringSelectOptionForRequest.label / value / description maxLength
MODAL_TITLE = 45  # ModalInteractionCallbackRequestData.title maxLength
MODAL_ROWS = 5  # classic modals: up to 5 rows (components maxItems 40 is for Labels)
INPUT_LABEL = 45  # TextInputComponentForModalRequest.label, LabelComponentForModalRequest.label
LABEL_DESCRIPTION = 100  # LabelComponentForModalRequest.description maxLength
INPUT_VALUE = 4000  # TextInputComponentForModalRequest.value maxLength
INPUT_PLACEHOLDER = 100  # TextInputComponentForModalRequest.placeholder maxLength
CHOICES = 25  # InteractionApplicationCommandAutocompleteCallbackStringData.choices maxItems
CHOICE_NAME = 100  # ApplicationCommandOptionStringChoice.name maxLength
# The spec says 6000 for ApplicationCommandOptionStringChoice.value; Discord's reference
# ("Application Command Option Choice Structure") and its API enforce 100.
CHOICE_VALUE = 100
STRING_OPTION = 6000  # ApplicationCommandStringOption.max_length maximum
COMMAND_DESCRIPTION = 100  # ApplicationCommandCreateRequest.description maxLength
COMMAND_OPTIONS = 25  # ApplicationCommandCreateRequest.options maxItems
COMMANDS_PER_SCOPE = 100  # the chat-input commands of one application, globally or per server

# --- Threads ----------------------------------------------------------------------------------

THREAD_NAME = 100  # CreateTextThreadWithMessageRequest.name / CreateForumThreadRequest.name
# ThreadAutoArchiveDuration (60, 1440, 4320 or 10080): the minutes of inactivity after
# which Discord archives a thread; the bot uses a day and a week.
ARCHIVE_AFTER_DAY = 1440
ARCHIVE_AFTER_WEEK = 10080

# --- JSON error codes (the `code` of an error response) ---------------------------------------

UNKNOWN_MEMBER = 10007
UNKNOWN_WEBHOOK = 10015  # also: an interaction's token past its 15 minutes
UNKNOWN_INTERACTION = 10062
INVALID_WEBHOOK_TOKEN = 50027
INVALID_FORM_BODY = 50035
THREAD_ARCHIVED = 50083  # an archived thread takes no change until it is unarchived
THREAD_ALREADY_CREATED = 160004  # the message has a thread already (its id is the message's)
