"""What the console keeps per app: its database engine, the ticket store, accounts, templates, a clock.

Created on the first console request (not at import, not in the app's lifespan: the console stays a
mount that the rest of the app does not have to know about). Tests create it themselves to inject a
clock or a test embedder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from bot.console.accounts import StaffAccounts
from bot.console.labels import LABELS
from bot.console.suggestions import CategorySuggester
from bot.db.engine import make_engine, session_factory
from bot.db.migrate import migrate
from bot.privacy import mask
from bot.settings import Settings
from bot.tickets.models import utcnow
from bot.tickets.repository import TicketStore
from bot.tickets.rules import CHINA_TZ

HERE = Path(__file__).resolve().parent
_init_lock = threading.Lock()


def _local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC; staff read China time."""
    return value.astimezone(CHINA_TZ).strftime(fmt) if value else "—"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["local"] = _local_time
    # summaries are stored masked when a ticket is made; masking again on show applies today's rules
    # to tickets made before them (idempotent, ~0.1 ms for a summary)
    templates.env.filters["mask"] = mask
    templates.env.globals["labels"] = LABELS
    return templates


@dataclass
class ConsoleState:
    """Resources of the console; `close()` disposes the engine."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = utcnow
    embedder: Any = None  # hot topics: None = the shared sentence encoder (tests pass a cheap one)
    templates: Jinja2Templates = field(default_factory=make_templates)
    store: TicketStore = field(init=False)
    accounts: StaffAccounts = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    cache: dict[str, Any] = field(default_factory=dict)
    suggester: CategorySuggester = field(default_factory=CategorySuggester)

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.engine)
        self.store = TicketStore(self.engine, clock=lambda: self.clock())
        self.accounts = StaffAccounts(self.sessions, clock=lambda: self.clock())

    @classmethod
    def open(cls, settings: Settings, **kwargs: Any) -> ConsoleState:
        """Connect to the configured database and bring its schema up to date."""
        engine = make_engine(settings.database_url)
        migrate(engine)
        return cls(settings=settings, engine=engine, **kwargs)

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.engine.dispose()


def get_state(request: Request) -> ConsoleState:
    """The console state of this app, created on first use."""
    app_state = request.app.state
    state: ConsoleState | None = getattr(app_state, "console", None)
    if state is None:
        with _init_lock:
            state = getattr(app_state, "console", None)
            if state is None:
                settings = getattr(app_state, "settings", None) or Settings()
                state = ConsoleState.open(settings)
                app_state.console = state
    return state
