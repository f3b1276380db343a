"""The one database of Front Door: engines and sessions (`engine`), and the schema's migrations (`migrate`).

The ticket store, the staff console and the gateway keep their tables in the same database, built by
one Alembic history (`migrations/`); it lives here, beside the engine settings every part relies on,
rather than inside any one of those packages.
"""
