"""`gridlink backup FILE` and `gridlink restore FILE`: one archive with the database and the
attachments' media files.

The archive is a tar file: ``manifest.json`` (format, database kind, migration revision, time),
``database.dump`` (PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore`) or
``database.sqlite`` (SQLite: the online backup API, consistent while the API keeps writing), and
``media/…`` (the attachments' files, when a media folder exists). A restore goes into an empty
database only: it never mixes a backup into live data."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.config import Settings
from api.errors import invalid
from api.i18n import _
from api.migrate import current_revision
from api.records import utcnow

FORMAT = "gridlink-backup"
FORMAT_VERSION = 1


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why and what to do."""


def media_dir(settings: Settings) -> Path | None:
    """Where the attachments' files live on disk (the attachments setting when present)."""
    configured = getattr(settings, "media_dir", None) or os.environ.get("GRIDLINK_MEDIA_DIR")
    return Path(configured) if configured else None


@dataclass(frozen=True)
class Manifest:
    database: str
    revision: str | None
    created_at: str
    media_files: int

    def as_json(self) -> bytes:
        return json.dumps(
            {"format": FORMAT, "version": FORMAT_VERSION, **self.__dict__}, ensure_ascii=False
        ).encode()


# --- PostgreSQL client tools ----------------------------------------------------------------


def _libpq(settings: Settings) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump/pg_restore without its password, and the environment carrying it
    (a password in argv is visible to every user of the machine)."""
    url = make_url(settings.database_url).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _(
                "{name} not found: install the PostgreSQL client of the server's major version "
                "(e.g. postgresql-client-15)",
                name=name,
            )
        )
    return path


def _major(text: str) -> int:
    found = re.search(r"(\d+)\.\d+", text)
    return int(found.group(1)) if found else 0


async def _check_versions(engine: AsyncEngine, tool: str) -> None:
    """pg_dump refuses a newer server; say so before it starts, in words an admin can act on."""
    async with engine.connect() as connection:
        server = int((await connection.exec_driver_sql("SHOW server_version_num")).scalar_one())
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    client = _major(version.stdout)  # "pg_dump (PostgreSQL) 15.20 (Debian …)"
    if client < server // 10000:
        raise BackupError(
            _(
                "{name} {client} is older than the server {value}: install a newer client",
                name=Path(tool).name,
                client=client,
                value=server // 10000,
            )
        )


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(
            _(
                "{what} failed: {value}",
                what=what,
                value=reason[-1] if reason else done.returncode,
            )
        )


# --- Backup ---------------------------------------------------------------------------------


def _sqlite_copy(source: Path, target: Path) -> None:
    # The online backup API copies a consistent snapshot page by page while others write.
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


async def backup(settings: Settings, engine: AsyncEngine, archive: Path) -> Manifest:
    if archive.exists():
        raise invalid("FILE", _("{archive} exists; it is not overwritten", archive=archive))
    revision = await current_revision(engine)
    if revision is None:
        raise BackupError(_("the database is empty: there is nothing to back up"))
    media = media_dir(settings)
    with tempfile.TemporaryDirectory(prefix="gridlink-backup-") as scratch:
        work = Path(scratch)
        if settings.is_sqlite:
            path = settings.sqlite_path()
            if path is None or not path.exists():
                raise BackupError(_("no SQLite database file: {path}", path=path))
            dump = work / "database.sqlite"
            _sqlite_copy(path, dump)
            kind = "sqlite"
        else:
            tool = _tool("pg_dump")
            await _check_versions(engine, tool)
            url, env = _libpq(settings)
            dump = work / "database.dump"
            _run(
                [tool, "--format=custom", "--no-owner", "--no-acl", f"--file={dump}", url],
                env,
                "pg_dump",
            )
            kind = "postgresql"
        files = (
            sorted(p for p in media.rglob("*") if p.is_file()) if media and media.is_dir() else []
        )
        manifest = Manifest(kind, revision, utcnow().isoformat(), len(files))
        partial = archive.with_name(archive.name + ".partial")
        with tarfile.open(partial, "w:gz" if archive.suffix in {".gz", ".tgz"} else "w") as tar:
            info = tarfile.TarInfo("manifest.json")
            data = manifest.as_json()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=dump.name)
            assert media is not None or not files
            for file in files:
                tar.add(file, arcname=f"media/{file.relative_to(media).as_posix()}")
        partial.replace(archive)  # a half-written archive never carries the final name
    return manifest


# --- Restore --------------------------------------------------------------------------------


async def _is_empty(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return not tables


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile("manifest.json")
    except KeyError:
        member = None
    manifest = json.loads(member.read()) if member else {}
    if manifest.get("format") != FORMAT:
        raise BackupError(_("not a gridlink backup: it has no manifest"))
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(
            _(
                "unsupported backup version {value}",
                value=manifest.get("version"),
            )
        )
    return manifest


async def restore(settings: Settings, engine: AsyncEngine, archive: Path) -> dict[str, Any]:
    if not archive.is_file():
        raise invalid("FILE", _("no such file: {archive}", archive=archive))
    try:
        tar = tarfile.open(archive)  # noqa: SIM115 - closed by the with below
    except tarfile.TarError as error:
        raise BackupError(_("cannot read the archive: {error}", error=error)) from None
    with tar, tempfile.TemporaryDirectory(prefix="gridlink-restore-") as scratch:
        manifest = _read_manifest(tar)
        kind = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest["database"] != kind:
            raise BackupError(
                _(
                    "a {manifest} backup cannot be restored into {kind}",
                    manifest=manifest["database"],
                    kind=kind,
                )
            )
        work = Path(scratch)
        media_members = [m for m in tar.getmembers() if m.name.startswith("media/") and m.isfile()]
        target = media_dir(settings)
        if media_members and target is None:
            raise BackupError(
                _("the backup holds media files: set GRIDLINK_MEDIA_DIR, then restore")
            )
        if settings.is_sqlite:
            path = settings.sqlite_path()
            if path is None:
                raise BackupError(_("restore needs a sqlite file URL"))
            if path.exists() and not await _is_empty(engine):
                raise BackupError(
                    _(
                        "the target database is not empty; nothing was changed: {path}",
                        path=path,
                    )
                )
            await engine.dispose()
            tar.extract("database.sqlite", work, filter="data")
            path.parent.mkdir(parents=True, exist_ok=True)
            _sqlite_copy(work / "database.sqlite", path)
        else:
            if not await _is_empty(engine):
                raise BackupError(_("the target database is not empty; nothing was changed"))
            tool = _tool("pg_restore")
            tar.extract("database.dump", work, filter="data")
            url, env = _libpq(settings)
            _run(
                [tool, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
                 f"--dbname={url}", str(work / "database.dump")],
                env,
                "pg_restore",
            )  # fmt: skip
        if media_members and target is not None:
            for member in media_members:
                member.name = member.name.removeprefix("media/")
                tar.extract(member, target, filter="data")
    return manifest
