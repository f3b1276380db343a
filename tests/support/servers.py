"""An ASGI app under uvicorn in a daemon thread, for fakes (Rasa, Telegram) and in-process apps.

The loopback socket is bound when the object is made (port 0: the kernel picks a free port) and held
until `stop`, so the port is known before the server runs, nothing else can take it meanwhile, and a
peer that connects before `start` is refused like a server that is down. No "free port" is looked up,
released and bound again later, which another server could take in between.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class ThreadedServer:
    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, app: Any, timeout: float = 30.0, **config: Any) -> ThreadedServer:
        """Serve `app` on the held port; returns once uvicorn has started (`config`: uvicorn.Config's)."""
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **config))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the server on port {self.port} stopped before it started")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server on port {self.port} did not start in {timeout} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and give the port back."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=timeout)
        self._server = self._thread = None
        self._sock.close()


def serve_in_thread(app: Any, **config: Any) -> ThreadedServer:
    """Start `app` on a loopback port of its own (see ThreadedServer)."""
    return ThreadedServer().start(app, **config)
