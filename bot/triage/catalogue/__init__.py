"""The triage knowledge (desks, FAQ, channels, safety, conversation) as validated dataclasses.

Staff edit YAML under `bot/data/` (later: a console backed by a database). A typo must never take the
bot down, so:

* every file is validated before it is used, and a broken one is refused with a `CatalogueError`
  that names the file and the line (yaml's own mark for syntax errors; a line-tracking loader for
  schema errors such as a duplicate id or an unknown channel code);
* `CatalogueStore` re-reads the files when they change (at most every ~2 s) and keeps serving the
  last good catalogue while the new one is broken, exposing the error for the console.

The dataclasses are the interface: `YamlCatalogueSource` is one `CatalogueSource`; a database-backed
source only has to produce the same `Catalogue`. Pure Python (yaml + stdlib), no model here.

Modules: `model` (the dataclasses), `lines` (the line-keeping YAML loader and `CatalogueError`),
`schema` (validation of the shipped files), `lessons` (staff-taught additions read on top of them),
`history` (a deployment's imported past tickets, read on top of those),
`source` (the files, with the console's overrides), `store` (`CatalogueStore`). Import from here.
"""

from bot.triage.catalogue.history import CATEGORY_HISTORY, HistoryBatch, history_examples, parse_history
from bot.triage.catalogue.lessons import (
    CATEGORY_LESSONS,
    SAFETY_LESSONS,
    parse_category_lessons,
    parse_safety_lessons,
    with_category_lessons,
    with_safety_lessons,
)
from bot.triage.catalogue.lines import CatalogueError, parse_yaml
from bot.triage.catalogue.model import (
    Catalogue,
    Category,
    Channel,
    Conversation,
    Decline,
    DeskCatalogue,
    EmergencySection,
    Faq,
    Referral,
    SafetyConfig,
)
from bot.triage.catalogue.schema import (
    FORM_FIELDS,
    PRIORITIES,
    parse_channels,
    parse_conversation,
    parse_desk,
    parse_faq,
    parse_safety,
)
from bot.triage.catalogue.source import DEFAULT_DATA_DIR, CatalogueSource, YamlCatalogueSource
from bot.triage.catalogue.store import CatalogueStore

__all__ = [
    "CATEGORY_HISTORY",
    "CATEGORY_LESSONS",
    "DEFAULT_DATA_DIR",
    "FORM_FIELDS",
    "PRIORITIES",
    "SAFETY_LESSONS",
    "Catalogue",
    "CatalogueError",
    "CatalogueSource",
    "CatalogueStore",
    "Category",
    "Channel",
    "Conversation",
    "Decline",
    "DeskCatalogue",
    "EmergencySection",
    "Faq",
    "HistoryBatch",
    "Referral",
    "SafetyConfig",
    "YamlCatalogueSource",
    "history_examples",
    "parse_category_lessons",
    "parse_channels",
    "parse_conversation",
    "parse_desk",
    "parse_faq",
    "parse_history",
    "parse_safety",
    "parse_safety_lessons",
    "parse_yaml",
    "with_category_lessons",
    "with_safety_lessons",
]
