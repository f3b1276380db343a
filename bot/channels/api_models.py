"""Request and response models of the integration API, and the OpenAPI document built from them.

One place says what `POST /api/chat/{desk}`, and `GET /api/chat/{desk}/updates` accept
and return; the routes validate with these models (so a client gets the same 400 the document
promises) and `GET /api/openapi.json` serves the document. Every id has a bound that fits its column
in bot/gateway/models.py on PostgreSQL: `gw_inbound.channel_message_id` is VARCHAR(120),
`gw_conversations.external_user` VARCHAR(160) and `id` VARCHAR(200) = "<desk>:<channel>:<sender>"
(desk and channel at most 20 each, so a sender of 128 always fits).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.security.json_body import BadJson, parse_json

M = TypeVar("M", bound=BaseModel)

MAX_SENDER = 128
MAX_MESSAGE_ID = 120
MAX_TEXT = 32_768  # the gateway answers at most bot.text.MAX_MESSAGE_CHARS of it and says so
MAX_DESK = 20
MAX_CONVERSATION_ID = 200

Sender = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SENDER)]
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_ID)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class ChatRequest(_Strict):
    """One message from a person, as an integration (or the web chat) sends it."""

    sender: Sender | None = Field(
        default=None,
        description="An integration's own id for the person (required with an API key); the web chat sends none: "
        "its X-Chat-Token says who it is.",
    )
    text: str | None = Field(default="", max_length=MAX_TEXT, description="What the person wrote.")
    message_id: MessageId | Annotated[int, Field(ge=0, lt=10**18)] | None = Field(
        default=None, description="The channel's own message id: a repeat with the same id is answered once."
    )
    channel: Literal["rest", "web"] | None = Field(
        default=None, description="Optional: the credential decides ('rest' for an API key, 'web' for a chat token)."
    )

    def channel_message_id(self) -> str | None:
        """The message id as the gateway stores it (gw_inbound.channel_message_id, text)."""
        return None if self.message_id is None else str(self.message_id)


class Button(BaseModel):
    title: str
    payload: str


class ChatReply(BaseModel):
    id: int | None = Field(description="The reply's id; clients drop ids they have already shown.")
    text: str
    buttons: list[Button] = Field(default_factory=list)


class ChatResponse(BaseModel):
    replies: list[ChatReply]


class QueuedMessage(BaseModel):
    id: int
    text: str
    buttons: list[Button] = Field(default_factory=list)
    from_: Literal["bot", "staff"] = Field(alias="from")
    at: str = Field(description="When it was queued (ISO 8601, UTC).")


class UpdatesResponse(BaseModel):
    messages: list[QueuedMessage]


class SessionResponse(BaseModel):
    token: str = Field(description="The web chat's conversation token: send it as the `header` on every call.")
    sender: str
    header: str
    idle_days: float


class ErrorResponse(BaseModel):
    error: str = Field(description="What was wrong and what to do instead.")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def read_model(request: Request, model: type[M]) -> M | JSONResponse:
    """The body as `model`, or a 400 JSONResponse that says what is wrong (never a 500).

    The body size is already bounded by bot.security.body_limit.BodyLimit before it is read.
    """
    try:
        payload: Any = parse_json(await request.body())
    except BadJson as exc:
        return error(400, f"{exc}. Example body: {_example(model)}")
    if not isinstance(payload, dict):
        return error(400, f"the body must be a JSON object like {_example(model)}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        return error(400, _explain(exc))


def _explain(exc: ValidationError) -> str:
    """Pydantic's errors as one short sentence per field: "'sender': String should have at most 128 characters"."""
    parts = []
    for item in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in item["loc"] if not isinstance(p, int) or len(item["loc"]) == 1)
        parts.append(f"'{where}': {item['msg']}" if where else str(item["msg"]))
    return "; ".join(parts)


_EXAMPLES: dict[type[BaseModel], str] = {
    ChatRequest: '{"sender": "person-7f3a", "text": "你好", "message_id": "m-1"}',
}


def _example(model: type[BaseModel]) -> str:
    return _EXAMPLES.get(model, "{}")


# --- the OpenAPI document ------------------------------------------------------------------------
_MODELS: tuple[type[BaseModel], ...] = (
    ChatRequest,
    ChatResponse,
    UpdatesResponse,
    SessionResponse,
    ErrorResponse,
)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


_ERRORS = {
    "400": _json(ErrorResponse, "The body or a parameter is not valid; `error` says what to change."),
    "413": _json(ErrorResponse, "The body is larger than FRONTDOOR_MAX_BODY_BYTES."),
}


def _path(name: str, max_length: int, description: str) -> dict[str, Any]:
    schema = {"type": "string", "minLength": 1, "maxLength": max_length}
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 description of the integration API, schemas straight from the models."""
    _, schemas = models_json_schema([(m, "validation") for m in _MODELS], ref_template="#/components/schemas/{model}")
    desk = _path("desk", MAX_DESK, "The service desk, e.g. 12345 or 12355.")
    person: list[dict[str, list[str]]] = [{"integrationKey": []}, {"chatToken": []}]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Front Door integration API",
            "version": "1",
            "description": "Send a person's message to a desk and get the bot's replies; fetch later messages.",
        },
        "paths": {
            "/api/chat/{desk}/session": {
                "post": {
                    "operationId": "webSession",
                    "parameters": [desk],
                    "responses": {"200": _json(SessionResponse, "A new web chat conversation and its token.")},
                }
            },
            "/api/chat/{desk}": {
                "post": {
                    "operationId": "chat",
                    "security": person,
                    "parameters": [desk],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(ChatRequest)}}},
                    "responses": {"200": _json(ChatResponse, "The bot's replies, in order."), **_ERRORS},
                }
            },
            "/api/chat/{desk}/updates": {
                "get": {
                    "operationId": "updates",
                    "security": person,
                    "parameters": [
                        desk,
                        {
                            "name": "sender",
                            "in": "query",
                            "required": False,  # an integration names its person; the web chat does not
                            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_SENDER},
                        },
                        {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                        {"name": "channel", "in": "query", "schema": {"enum": ["web", "rest"], "default": "web"}},
                    ],
                    "responses": {"200": _json(UpdatesResponse, "Queued messages newer than `after`."), **_ERRORS},
                }
            },
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "integrationKey": {"type": "http", "scheme": "bearer", "description": "An integration key (fdk_...)."},
                "chatToken": {"type": "apiKey", "in": "header", "name": "X-Chat-Token"},
            },
        },
    }


async def openapi(request: Request) -> JSONResponse:
    """GET /api/openapi.json."""
    return JSONResponse(openapi_document())
