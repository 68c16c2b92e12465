"""Every sentence the imports show a person, keyed by a stable code; the texts live in the
message catalogue (English id, Chinese in api/i18n/zh_CN.po)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.i18n import EN, N_, ZH_CN, Lazy, translate

# code: the message (its English is the id; the Chinese is in api/i18n/zh_CN.po).
MESSAGES: dict[str, Lazy] = {
    "FILE_EMPTY": N_("The file is empty or has no header row."),
    "FILE_XLS": N_("This is an old Excel (.xls) file; save it as .xlsx or CSV and import that."),
    "FILE_UNREADABLE": N_("The file cannot be read: {reason}. Give an .xlsx or CSV file."),
    "FILE_ENCODING": N_(
        "The CSV file is neither UTF-8 nor GBK; save it from Excel as 'CSV UTF-8'."
    ),
    "HEADER_MISSING": N_(
        "The required column '{name}' is missing; headers may be Chinese or English ({english})."
    ),
    "HEADER_UNKNOWN": N_("Unknown column '{header}', ignored. Known columns: {known}."),
    "HEADER_DUPLICATE": N_("The column '{name}' appears twice."),
    "TOO_MANY_PROBLEMS": N_(
        "Too many problems: the first {shown} are listed, {more} more are not."
    ),
    "REQUIRED": N_("Required; it is empty."),
    "TOO_LONG": N_("Too long: {length} > {maximum}."),
    "CREDIT_LENGTH": N_("A unified social credit code has 18 characters; this has {length}."),
    "CREDIT_CHARS": N_("A unified social credit code cannot contain {chars} (no I, O, S, V, Z)."),
    "CREDIT_CHECK": N_(
        "The credit code's check character should be {expected}, not {actual}: check for a typo."
    ),
    "CREDIT_DUPLICATE": N_("The credit code {code} already appears on row {first} of this file."),
    "HEADCOUNT_NUMBER": N_("Headcount must be a whole number, got '{value}'."),
    "HEADCOUNT_RANGE": N_("Headcount must be between 0 and 1,000,000, got {value}."),
    "YES_NO": N_("Must be 是/否 (yes/no), got '{value}'."),
    "TOWN_UNKNOWN": N_(
        "The town '{value}' is not in the grid tree; import the grids first or fix the name."
    ),
    "PARK_UNKNOWN": N_(
        "The park '{value}' is not in the grid tree; import the grids first or fix the name."
    ),
    "PARK_TOWN": N_("The park '{park}' is not in the town '{town}'."),
    "INDUSTRY_UNKNOWN": N_(
        "The industry '{value}' is not a known industry (e.g. {known}); if it is new, import "
        "with --allow-new-industries."
    ),
    "OUT_OF_SCOPE": N_("'{value}' is outside the area you manage."),
    "PHONE_INVALID": N_("A phone number is 11 digits starting with 13-19, got '{value}'."),
    "PHONE_DUPLICATE": N_("The phone {phone} already appears on row {first} of this file."),
    "ROLE_UNKNOWN": N_("Unknown role '{value}'; roles are {known}."),
    "ROLE_NOT_ALLOWED": N_("You may not import a member with the role '{value}'."),
    "GRID_UNKNOWN": N_(
        "The grid '{value}' does not exist; give a grid code (e.g. SY-T01-J01) or name."
    ),
    "GRID_KIND": N_("The grid type must be 县, 镇 or 园区 (COUNTY, TOWN, PARK), got '{value}'."),
    "GRID_PARENT": N_(
        "The parent grid '{value}' does not exist or cannot hold a {kind} grid (it must come "
        "on an earlier row or already exist)."
    ),
    "GRID_MOVED": N_(
        "The grid {code} is under '{current}'; an import cannot move it to '{value}'."
    ),
    "REFUSED": N_("{reason}"),
}


# Where a problem or a row's outcome is, in the report's lines.
ROW = N_("row {row}")
COLUMN = N_("column {column}")
ROW_AND_COLUMN = N_("row {row}, column {column}")
WHERE_AND_WHAT = N_("{where}: {text}")


def _text(code: str, language: str, values: tuple[tuple[str, Any], ...]) -> str:
    message = MESSAGES[code]
    return translate(language, message.msgid, message.context, dict(values))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (row and column, when known) and what."""

    code: str
    row: int | None = None
    column: str | None = None
    values: tuple[tuple[str, Any], ...] = ()

    @property
    def zh(self) -> str:
        return _text(self.code, ZH_CN, self.values)

    @property
    def en(self) -> str:
        return _text(self.code, EN, self.values)

    def line(self, language: str = ZH_CN) -> str:
        """The problem with where it is: "第 3 行“职工人数”列：……" / "row 3, 职工人数: …"."""
        text = _text(self.code, language, self.values)
        if self.row and self.column:
            where = ROW_AND_COLUMN(row=self.row, column=self.column).render(language)
        elif self.row:
            where = ROW(row=self.row).render(language)
        elif self.column:
            where = COLUMN(column=self.column).render(language)
        else:
            return text
        return WHERE_AND_WHAT(where=where, text=text).render(language)


def problem(
    which: str, row: int | None = None, column: str | None = None, **values: Any
) -> Problem:
    return Problem(which, row, column, tuple(values.items()))
