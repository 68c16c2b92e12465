"""Backup and restore round trip: every table the same after `gridlink backup` into an archive
and `gridlink restore` into an empty database, media files included; restore refuses a database
that holds data and a file that is not a backup."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.config import Settings
from api.db import create_engine
from api.tables import metadata
from tests.graphql_world import build_world
from tests.test_cli import run


async def _dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (and the migration revision), in a stable order."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = (await connection.execute(select(table))).all()
            found[table.name] = sorted((tuple(r) for r in rows), key=repr)
        found["alembic_version"] = [
            tuple(r) for r in await connection.execute(text("SELECT * FROM alembic_version"))
        ]
    return found


async def test_backup_and_restore_round_trip(
    database_url: str, session_factory, engine: AsyncEngine, empty_database_url: str, tmp_path: Path
) -> None:
    await build_world(session_factory)
    media = tmp_path / "media"
    (media / "ab").mkdir(parents=True)
    (media / "ab" / "photo.jpg").write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 40)
    before = await _dump(engine)
    assert sum(len(rows) for rows in before.values()) > 30

    archive = tmp_path / "backup.tar.gz"
    done = run(database_url, "backup", str(archive), env={"GRIDLINK_MEDIA_DIR": str(media)})
    assert done.returncode == 0, done.stderr
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "media/ab/photo.jpg"} <= names
    again = run(database_url, "backup", str(archive))
    assert again.returncode != 0 and "FILE:" in again.stderr  # never overwritten

    # Into a database that holds data: refused, nothing changed.
    refused = run(database_url, "restore", str(archive), env={"GRIDLINK_MEDIA_DIR": str(media)})
    assert refused.returncode == 1 and "不是空的" in refused.stderr

    restored_media = tmp_path / "restored-media"
    done = run(
        empty_database_url, "restore", str(archive), env={"GRIDLINK_MEDIA_DIR": str(restored_media)}
    )
    assert done.returncode == 0, done.stderr
    target = create_engine(Settings(database_url=empty_database_url))
    try:
        after = await _dump(target)
    finally:
        await target.dispose()
    assert after == before
    photo = restored_media / "ab" / "photo.jpg"
    assert photo.read_bytes() == (media / "ab" / "photo.jpg").read_bytes()


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    bogus = tmp_path / "bogus.tar"
    with tarfile.open(bogus, "w") as tar:
        tar.add(__file__, arcname="notes.txt")
    done = run(url, "restore", str(bogus))
    # Refused with a sentence (in the catalogue's language), not a traceback.
    assert done.returncode == 1 and "gridlink restore" in done.stderr
    assert "Traceback" not in done.stderr
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"this is not an archive")
    done = run(url, "restore", str(garbage))
    assert done.returncode == 1 and "gridlink restore" in done.stderr
    assert "Traceback" not in done.stderr
    missing = run(url, "restore", str(tmp_path / "nope.tar"))
    assert missing.returncode == 2 and "FILE:" in missing.stderr
