"""Alembic environment of Front Door's database; normally entered through `bot.db.migrate.migrate`.

The chain builds the tables of the ticket store, the staff console (in the tickets' metadata) and
the gateway (its own metadata), so the target metadata holds all of them: every model module is
imported here, or its tables would be missing from it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

import bot.console.models  # noqa: F401  (its models add the console's tables to Base.metadata)
from bot.db.engine import make_engine
from bot.db.migrate import VERSION_TABLE
from bot.gateway.models import GatewayBase
from bot.tickets.models import Base

config = context.config


def _every_table() -> MetaData:
    """One MetaData with the tables of every model module, under the ticket store's naming convention.

    Not a list of the two metadatas (which Alembic also accepts): the operations of the migration
    scripts take their naming convention from the target metadata (a list has none), and the
    constraint names in existing databases were made with this one (0004 drops one by that name).
    """
    combined = MetaData(naming_convention=Base.metadata.naming_convention)
    for metadata in (Base.metadata, GatewayBase.metadata):
        for table in metadata.sorted_tables:
            table.to_metadata(combined)
    return combined


target_metadata = _every_table()


def _include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Look only at our own tables: another application may share the database."""
    return type_ != "table" or name in target_metadata.tables


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_name=_include_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as new_connection:
            _configure(new_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
