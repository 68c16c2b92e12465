"""Migrations: upgrade from empty, no drift between models and migrations, downgrade to base."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from api.config import Settings
from api.db import create_engine
from api.migrate import current_revision, downgrade, upgrade
from api.tables import metadata


async def test_upgrade_drift_and_downgrade(empty_database_url: str) -> None:
    engine = create_engine(Settings(database_url=empty_database_url))
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) is not None

        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            diff = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(
                        c, opts={"compare_type": True, "compare_server_default": True}
                    ),
                    metadata,
                )
            )
        assert set(metadata.tables) <= tables
        assert diff == [], f"models and migrations drifted: {diff}"

        await downgrade(engine, "base")
        async with engine.connect() as connection:
            left = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert left <= {"alembic_version"}
        assert await current_revision(engine) is None

        await upgrade(engine)  # and up again from base
        assert await current_revision(engine) is not None
    finally:
        await engine.dispose()
