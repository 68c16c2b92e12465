"""Write the schema's SDL to schema/schema.graphql: ``python -m schema.export`` (or
``python -m schema.export --check`` to fail when the file is out of date)."""

from __future__ import annotations

import sys
from pathlib import Path

from api.config import Settings
from api.i18n import _
from schema.build import build_schema

SDL_PATH = Path(__file__).with_name("schema.graphql")
REGENERATE = "python -m schema.export"


def current_sdl() -> str:
    return build_schema(Settings()).as_str().rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    sdl = current_sdl()
    if "--check" in args:
        if not SDL_PATH.exists() or SDL_PATH.read_text() != sdl:
            print(
                _(
                    "{SDL_PATH} is out of date; run: {REGENERATE}",
                    SDL_PATH=SDL_PATH,
                    REGENERATE=REGENERATE,
                ),
                file=sys.stderr,
            )
            return 1
        print(_("{SDL_PATH} is up to date", SDL_PATH=SDL_PATH))
        return 0
    SDL_PATH.write_text(sdl)
    print(_("wrote {SDL_PATH} ({count} lines)", SDL_PATH=SDL_PATH, count=len(sdl.splitlines())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
