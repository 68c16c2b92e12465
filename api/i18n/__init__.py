"""Messages people read, in Chinese first and English second, from one catalogue.

The English text is the message id (gettext's convention): ``_("ticket {number} was closed",
number=n)``. The Chinese lives in ``api/i18n/zh_CN.po``, read at start-up with Babel's reader
(no compiled files, no build step). A message is made in the language current where it is made
— a request's (``Accept-Language``, set by ``api.i18n.http``), a member's stored one
(``use_language``), or zh-CN — and keeps its id and arguments, so that ``render(message, lang)``
gives it in another language (a notification goes out in its recipient's language).

Arguments are rendered with the message: an enum by its label (``api.i18n.labels``), a datetime
in Beijing time, a date as a date, another message in the same language.
"""

from __future__ import annotations

import contextlib
import contextvars
import string
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_month_names
from babel.messages.pofile import read_po

ZH_CN = "zh-CN"
EN = "en"
# The order is the preference: Chinese first.
LANGUAGES: tuple[str, ...] = (ZH_CN, EN)
DEFAULT_LANGUAGE = ZH_CN
# Beijing time: every date and time a person reads is shown in it.
BEIJING = ZoneInfo("Asia/Shanghai")
CATALOGUE_DIR = Path(__file__).parent
# The one translated catalogue; English is the message id itself.
CATALOGUES: Mapping[str, Path] = {ZH_CN: CATALOGUE_DIR / "zh_CN.po"}

_BABEL_LOCALE = {ZH_CN: "zh_CN", EN: "en"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar(
    "gridlink_language", default=DEFAULT_LANGUAGE
)


@cache
def catalogue(language: str) -> Mapping[tuple[str | None, str], str]:
    """(context, English id) -> translation, for a language with a catalogue; fuzzy or empty
    entries are left out (they fall back to English, and the catalogue test names them)."""
    path = CATALOGUES.get(language)
    if path is None:
        return {}
    with path.open("rb") as file:
        parsed = read_po(file, locale=_BABEL_LOCALE[language])
    return {
        (entry.context, str(entry.id)): str(entry.string)
        for entry in parsed
        if entry.id and entry.string and not entry.fuzzy
    }


def current_language() -> str:
    return _current.get()


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Make messages in ``language`` (a supported one, else the default) inside the block."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def set_language(language: str) -> contextvars.Token[str]:
    """For an edge that cannot use a block (ASGI middleware); pair with ``reset_language``."""
    return _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def reset_language(token: contextvars.Token[str]) -> None:
    _current.reset(token)


def negotiate(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The supported language an ``Accept-Language`` header prefers most (any ``zh`` is read
    as zh-CN, any ``en`` as en); ``default`` when it names neither."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    for _quality, _position, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary == "zh":
            return ZH_CN
        if primary == "en":
            return EN
        if primary == "*":
            return default
    return default


def supported(language: str) -> str | None:
    """The supported language named by ``language`` (``zh``, ``zh-cn``, ``en-GB``...), or None."""
    primary = language.strip().replace("_", "-").lower().split("-")[0]
    return {"zh": ZH_CN, "en": EN}.get(primary)


class Message(str):
    """A catalogue message: a str in the language current when it was made, that knows its id
    and arguments so that ``render`` can give it in another language."""

    msgid: str
    context: str | None
    args: dict[str, Any]

    def __new__(cls, msgid: str, context: str | None = None, /, **args: Any) -> Message:
        text = translate(current_language(), msgid, context, args)
        made = super().__new__(cls, text)
        made.msgid = msgid
        made.context = context
        made.args = args
        return made

    def render(self, language: str) -> str:
        return translate(language, self.msgid, self.context, self.args)

    def __reduce__(self) -> Any:
        return (_rebuild, (self.msgid, self.context, self.args))


def _rebuild(msgid: str, context: str | None, args: dict[str, Any]) -> Message:
    return Message(msgid, context, **args)


class Lazy:
    """A message declared ahead of use (module level: enum labels, fixed refusals), made in the
    language current when it is used: ``str(lazy)``, ``lazy(**args)``."""

    __slots__ = ("context", "msgid")

    def __init__(self, msgid: str, context: str | None = None) -> None:
        self.msgid = msgid
        self.context = context

    def __call__(self, **args: Any) -> Message:
        return Message(self.msgid, self.context, **args)

    def __str__(self) -> str:
        return self()

    def __repr__(self) -> str:
        return f"N_({self.msgid!r})"


def _(msgid: str, /, **args: Any) -> Message:
    """The message ``msgid`` (English, with ``{name}`` fields) in the current language."""
    return Message(msgid, None, **args)


def N_(msgid: str, context: str | None = None) -> Lazy:  # noqa: N802 - gettext's name
    """Declare a message now, make it when used (see ``Lazy``)."""
    return Lazy(msgid, context)


def render(value: Any, language: str | None = None) -> str:
    """Any value as a person reads it in ``language`` (the current one by default): a message
    in that language, an enum by its label, a datetime in Beijing time."""
    language = language or current_language()
    if isinstance(value, Message):
        return value.render(language)
    if isinstance(value, Lazy):
        return translate(language, value.msgid, value.context, {})
    if isinstance(value, Enum):
        return _label(value, language)
    if isinstance(value, datetime):
        local = value.astimezone(BEIJING)
        return (
            f"{_date_text(local, language)} {local:%H:%M}"
            if language == ZH_CN
            else (f"{_date_text(local, language)}, {local:%H:%M}")
        )
    if isinstance(value, date):
        return _date_text(value, language)
    if isinstance(value, timedelta):
        return _duration_text(value, language)
    if isinstance(value, list | tuple):
        separator = "、" if language == ZH_CN else ", "
        return separator.join(render(item, language) for item in value)
    return str(value)


def _duration_text(value: timedelta, language: str) -> str:
    seconds = int(value.total_seconds())
    for size, one, many in _DURATIONS:
        if seconds % size == 0 or size == 1:
            count = seconds // size
            return translate(language, (one if count == 1 else many).msgid, None, {"count": count})
    return str(value)


@cache
def _label(value: Enum, language: str) -> str:
    from api.i18n.labels import label_of

    found = label_of(value)
    return render(found, language) if found is not None else str(value.value)


@cache
def _month_abbreviations(language: str) -> tuple[str, ...]:
    names = get_month_names("abbreviated", locale=_BABEL_LOCALE[language])
    return tuple(names[m] for m in range(1, 13))


def _date_text(day: date, language: str) -> str:
    # Written out rather than through Babel's pattern parser: an export formats hundreds of
    # thousands of times.
    if language == ZH_CN:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_month_abbreviations(language)[day.month - 1]} {day.year}"


def translate(language: str, msgid: str, context: str | None, args: Mapping[str, Any]) -> str:
    text = catalogue(language).get((context, msgid), msgid)
    if not args:
        return text
    return text.format_map({name: _argument(value, language) for name, value in args.items()})


def _argument(value: Any, language: str) -> Any:
    # Numbers stay numbers, so that a message may format them ({count:,}, {month:02d}).
    if isinstance(value, int | float) and not isinstance(value, bool | Enum):
        return value
    return render(value, language)


def fields_of(text: str) -> set[str]:
    """The ``{name}`` fields of a message (the catalogue test holds both languages to one set)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# A length of time in its largest whole unit ("90 天", "90 days"), singular in English for one.
_DURATIONS: tuple[tuple[int, Lazy, Lazy], ...] = (
    (86_400, N_("{count} day"), N_("{count} days")),
    (3_600, N_("{count} hour"), N_("{count} hours")),
    (60, N_("{count} minute"), N_("{count} minutes")),
    (1, N_("{count} second"), N_("{count} seconds")),
)

__all__ = [
    "BEIJING",
    "DEFAULT_LANGUAGE",
    "EN",
    "LANGUAGES",
    "ZH_CN",
    "Lazy",
    "Message",
    "N_",
    "_",
    "current_language",
    "negotiate",
    "render",
    "supported",
    "use_language",
]
