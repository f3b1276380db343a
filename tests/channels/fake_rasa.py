"""A tiny stand-in for Rasa's REST channel on 127.0.0.1, so the whole app can run in a test.

It echoes the message (with one button), answers "长" with a reply over Telegram's limit, answers
"紧急工单" like an action that created an urgent ticket, and can be told to be slow or silent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.servers import ThreadedServer, serve_in_thread


@dataclass
class FakeRasaServer:
    port: int = 0  # set by serve()
    delay: float = 0.0
    silent: bool = False  # like Rasa with the action server down: HTTP 200 and []
    received: list[dict[str, Any]] = field(default_factory=list)

    async def webhook(self, request: Request) -> JSONResponse:
        payload = await request.json()
        self.received.append(payload)
        if self.delay:
            await asyncio.sleep(self.delay)
        message = str(payload["message"])
        if self.silent:
            return JSONResponse([])
        if message == "长":
            return JSONResponse([{"recipient_id": payload["sender"], "text": "很长的回答。" * 1000}])
        if message == "紧急工单":
            return JSONResponse(
                [
                    {"recipient_id": payload["sender"], "text": "已为您登记，工单号 12345-0001。"},
                    {"recipient_id": payload["sender"], "custom": {"urgent_ticket": "12345-0001"}},
                ]
            )
        return JSONResponse(
            [
                {
                    "recipient_id": payload["sender"],
                    "text": f"回声：{message}",
                    "buttons": [{"title": "有帮助", "payload": "/affirm"}],
                }
            ]
        )

    async def status(self, request: Request) -> JSONResponse:
        return JSONResponse({"version": "fake"})

    def serve(self) -> ThreadedServer:
        app = Starlette(
            routes=[Route("/webhooks/rest/webhook", self.webhook, methods=["POST"]), Route("/", self.status)]
        )
        server = serve_in_thread(app)
        self.port = server.port
        return server
