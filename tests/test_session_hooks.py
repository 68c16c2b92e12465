"""The session hooks are switched on by one explicit step (api/edge/session_hooks.py), never by
importing a module; without them a session refuses to write synced records. Each check runs in
a fresh interpreter: this test process has the hooks installed (tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from api import session_hooks
from api.edge.session_hooks import ALL_HOOKS, install

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, cwd=ROOT, timeout=60)


def test_importing_the_entry_points_registers_no_hook() -> None:
    _run(
        """
        import api.edge.app, api.edge.cli, api.edge.worker, sync, schema.build
        from sqlalchemy import event
        from sqlalchemy.orm import Session
        from api.edge.session_hooks import ALL_HOOKS
        on = [h.listener.__name__ for h in ALL_HOOKS
              if event.contains(Session, h.event, h.listener)]
        assert not on, on
        """
    )


@pytest.mark.parametrize(
    "start",
    [
        "from api.edge.app import create_app; create_app(Settings(database_url=URL))",
        "from api.edge.cli import main; main(['vapid-keys'])",
        "from api.edge.worker import run_once; asyncio.run(run_once(None, []))",
    ],
    ids=["app", "cli", "worker"],
)
def test_every_entry_point_installs_every_hook(start: str, tmp_path: Path) -> None:
    _run(
        f"""
        import asyncio
        from sqlalchemy import event
        from sqlalchemy.orm import Session
        from api.config import Settings
        from api.edge.session_hooks import ALL_HOOKS
        URL = "sqlite:///{tmp_path / "x.db"}"
        {start}
        off = [h.listener.__name__ for h in ALL_HOOKS
               if not event.contains(Session, h.event, h.listener)]
        assert not off, off
        """
    )


def test_a_session_without_the_hooks_cannot_write_synced_records(database_url: str) -> None:
    # A real migrated database; the process never calls install().
    _run(
        f"""
        import asyncio
        from api.config import Settings
        from api.db import create_engine, session_factory
        from api.grids.models import Grid, GridKind
        from api.session_hooks import HooksNotInstalled

        async def main():
            engine = create_engine(Settings(database_url={database_url!r}))
            try:
                async with session_factory(engine)() as session, session.begin():
                    session.add(Grid(code="NOHOOKS", name="x", kind=GridKind.TOWN))
            except HooksNotInstalled:
                pass
            else:
                raise AssertionError("a synced record was written without the hooks")
            finally:
                await engine.dispose()

        asyncio.run(main())
        """
    )


def test_install_is_idempotent_and_keeps_the_defined_order() -> None:
    install()
    assert session_hooks.installed()
    for hook in ALL_HOOKS:
        assert event.contains(Session, hook.event, hook.listener)
    # Within before_flush: the ticket's children, the version stamp, then sync's member bump.
    names = [h.listener.__name__ for h in ALL_HOOKS if h.event == "before_flush"]
    assert names.index("children_go_with_their_ticket") < names.index("stamp_versions")
    assert names.index("stamp_versions") < names.index("grids_served_change_the_member")
    listeners = [fn.__name__ for fn in Session().dispatch.before_flush]
    ours = [n for n in listeners if n in names]
    assert ours == names
