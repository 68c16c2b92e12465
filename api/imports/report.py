"""What an import did or would do: counts, grids made, codes issued, and every problem."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.i18n import EN, N_, ZH_CN, _, render, supported, use_language
from api.imports.messages import ROW, WHERE_AND_WHAT, Problem, problem

# Problems kept for the report; a file of 100 000 bad rows still reports in bounded memory.
MAX_PROBLEMS = 2000


@dataclass(frozen=True)
class IssuedCode:
    name: str
    phone: str
    code: str


# What an import does to a row, as its report's lines say it.
ACTIONS = {
    "CREATED": N_("created", "ImportAction"),
    "UPDATED": N_("updated", "ImportAction"),
    "MOVED": N_("moved to another grid", "ImportAction"),
}


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one row: created/updated/moved, and where the grid rule put it, why."""

    row: int
    action: str
    key: str
    grid: str = ""
    reason: str = ""

    def line(self, language: str = ZH_CN) -> str:
        row = ROW(row=self.row).render(language)
        action = render(ACTIONS[self.action], language)
        where = f" → {self.grid}" if self.grid else ""
        line = f"{row} {action} {self.key}{where}"
        if not self.reason:
            return line
        return WHERE_AND_WHAT(where=line, text=self.reason).render(language)


@dataclass
class ImportReport:
    kind: str
    apply: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    moved: int = 0
    unchanged: int = 0
    grids_created: list[str] = field(default_factory=list)
    new_industries: list[str] = field(default_factory=list)
    codes: list[IssuedCode] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Created, updated and moved rows with their placement (the first MAX_PROBLEMS of them).
    outcomes: list[RowOutcome] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    # True once the changes are committed (apply requested and no problem found).
    written: bool = False

    def add(self, found: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(found)

    def record(self, outcome: RowOutcome) -> None:
        if len(self.outcomes) < MAX_PROBLEMS:
            self.outcomes.append(outcome)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def all_problems(self) -> list[Problem]:
        listed = list(self.problems)
        if self.problem_count > len(self.problems):
            more = self.problem_count - len(self.problems)
            listed.append(problem("TOO_MANY_PROBLEMS", shown=len(self.problems), more=more))
        return listed

    def lines(self, language: str = ZH_CN) -> list[str]:
        """The summary a person reads, in ``language`` (zh-CN, en, or a tag such as "zh")."""
        language = supported(language) or ZH_CN
        with use_language(language):
            return self._lines(language)

    def _lines(self, language: str) -> list[str]:
        head = [_("{rows} data rows read.", rows=self.rows)]
        counts = {
            "created": self.created,
            "updated": self.updated,
            "moved": self.moved,
            "unchanged": self.unchanged,
        }
        head.append(
            _("{created} created, {updated} updated ({moved} moved to another grid), "
                "{unchanged} unchanged.", **counts)
            if self.written
            else _("{created} would be created, {updated} would be updated ({moved} moved to "
                     "another grid), {unchanged} unchanged.", **counts)
        )  # fmt: skip
        if self.grids_created:
            shown = self.grids_created[:50]
            more = "……" if len(self.grids_created) > 50 else ""
            grids = (", " if language == EN else "、").join(shown) + more
            count = len(self.grids_created)
            head.append(
                _("{count} grids created: {grids}", count=count, grids=grids)
                if self.written
                else _("{count} grids would be created: {grids}", count=count, grids=grids)
            )
        if self.new_industries:
            industries = (", " if language == EN else "、").join(self.new_industries)
            head.append(_("new industries: {industries}", industries=industries))
        if self.codes and not self.written:
            head.append(
                _("{count} new members would get a one-time sign-in code.", count=len(self.codes))
            )
        for code in self.codes if self.written else ():
            head.append(
                _("one-time sign-in code {phone} {name}: {code}",
                    phone=code.phone, name=code.name, code=code.code)
            )  # fmt: skip
        for warning in self.warnings:
            head.append(_("note: {text}", text=warning.line(language)))
        if self.problem_count:
            head.append(_("{count} problems found; nothing was written:", count=self.problem_count))
            head.extend("  " + p.line(language) for p in self.all_problems())
        elif not self.written:
            head.append(_("Dry run: nothing was written; add --apply to import."))
        else:
            head.append(_("Everything was written."))
        return head
