"""GET /api/openapi.json describes the integration API, and it agrees with what the routes accept.

The schemas are checked with jsonschema's Draft 2020-12 validator (OpenAPI 3.1's dialect); jsonschema
is installed in the Rasa environment only, so the check runs there, as a subprocess.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from bot.settings import REPO_ROOT, Settings
from tests.decisions import no_risk
from tests.security.routes import walk
from tests.support.identity import key_headers, web_session

VALIDATE = """
import json, sys
from jsonschema import Draft202012Validator
job = json.load(sys.stdin)
document = job["document"]
Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})
results = []
for schema_name, instance in job["instances"]:
    schema = {"$ref": "#/components/schemas/" + schema_name, "components": document["components"]}
    results.append(Draft202012Validator(schema).is_valid(instance))
print(json.dumps(results))
"""


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")
    with TestClient(create_app(Settings(), decide=no_risk)) as test_client:
        yield test_client


def validate(document: dict[str, Any], instances: list[tuple[str, Any]]) -> list[bool]:
    job = json.dumps({"document": document, "instances": instances})
    python = str(REPO_ROOT / ".venv-rasa" / "bin" / "python")
    done = subprocess.run([python, "-c", VALIDATE], input=job, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-1000:]
    return list(json.loads(done.stdout))


def test_the_document_is_served_and_names_every_api_route(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    api_routes = {path for path, _ in walk(list(client.app.routes)) if path.startswith("/api/")}  # type: ignore[attr-defined]
    api_routes.discard("/api/openapi.json")
    assert api_routes <= set(document["paths"]), api_routes - set(document["paths"])
    chat = document["components"]["schemas"]["ChatRequest"]["properties"]
    assert chat["sender"]["anyOf"][0]["maxLength"] == 128
    assert {"maxLength": 120, "minLength": 1, "type": "string"}.items() <= chat["message_id"]["anyOf"][0].items()


ACCEPTED = [
    {"sender": "p-1", "text": "路灯坏了"},
    {"sender": "p-2", "text": "hi", "message_id": "m-1"},
    {"sender": "p-3", "text": "hi", "message_id": 42, "channel": "rest"},
    {"sender": "s" * 128, "text": None, "message_id": "m" * 120},
]
REFUSED = [  # (a missing sender is refused for a key by the identity check, which the schema cannot know)
    {"sender": "", "text": "hi"},
    {"sender": "s" * 129, "text": "hi"},
    {"sender": "p", "text": 5},
    {"sender": "p", "text": "hi", "message_id": "m" * 121},
    {"sender": "p", "text": "hi", "channel": "telegram"},
    {"sender": "p", "text": "hi", "message_id": -1},
]


def test_the_document_and_the_route_agree_on_chat_requests(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    headers = key_headers(client)
    statuses = [client.post("/api/chat/12345", json=body, headers=headers).status_code for body in ACCEPTED + REFUSED]
    assert statuses == [200] * len(ACCEPTED) + [400] * len(REFUSED)
    verdicts = validate(document, [("ChatRequest", body) for body in ACCEPTED + REFUSED])
    assert verdicts == [True] * len(ACCEPTED) + [False] * len(REFUSED)


def test_responses_match_their_documented_models(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    web, sender = web_session(client)
    session = client.post("/api/chat/12355/session")
    chat = client.post("/api/chat/12345", json={"text": "你好"}, headers=web)
    refused = client.post("/api/chat/12345", json={"sender": ""}, headers=key_headers(client))
    client.app.state.gateway.staff_reply(f"12345:web:{sender}", "您好", "agent-1")  # as the console does
    updates = client.get("/api/chat/12345/updates", headers=web)
    assert [r.status_code for r in (chat, refused, updates)] == [200, 400, 200]
    assert updates.json()["messages"], "the staff reply is queued for the web chat"
    instances = [
        ("ChatResponse", chat.json()),
        ("ErrorResponse", refused.json()),
        ("UpdatesResponse", updates.json()),
        ("SessionResponse", session.json()),
        ("ChatRequest", {"text": 5}),  # and a wrong one is refused by the document too
    ]
    assert validate(document, instances) == [True, True, True, True, False]
