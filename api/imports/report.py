"""What an import did or would do: counts, grids made, codes issued, and every problem."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.imports.messages import Problem, problem

# Problems kept for the report; a file of 100 000 bad rows still reports in bounded memory.
MAX_PROBLEMS = 2000


@dataclass(frozen=True)
class IssuedCode:
    name: str
    phone: str
    code: str


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one row: created/updated/moved, and where the grid rule put it, why."""

    row: int
    action: str
    key: str
    grid: str = ""
    reason: str = ""

    def line(self, lang: str = "zh") -> str:
        words = {"CREATED": "新建", "UPDATED": "更新", "MOVED": "调整网格"}
        action = words.get(self.action, self.action) if lang == "zh" else self.action.lower()
        where = f" → {self.grid}" if self.grid else ""
        row = f"第 {self.row} 行" if lang == "zh" else f"row {self.row}"
        return f"{row} {action} {self.key}{where}" + (f"：{self.reason}" if self.reason else "")


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

    def lines(self, lang: str = "zh") -> list[str]:
        """The summary a person reads, Chinese first."""
        zh = lang == "zh"
        if zh:
            verb = "已" if self.written else "将"
            head = [
                f"共读取 {self.rows} 行数据。",
                f"{verb}新建 {self.created} 条，更新 {self.updated} 条"
                f"（其中调整网格 {self.moved} 条），无变化 {self.unchanged} 条。",
            ]
            if self.grids_created:
                head.append(
                    f"{verb}新建网格 {len(self.grids_created)} 个："
                    + "、".join(self.grids_created[:50])
                    + ("……" if len(self.grids_created) > 50 else "")
                )
            if self.new_industries:
                head.append("新行业：" + "、".join(self.new_industries))
        else:
            verb = "" if self.written else "would be "
            head = [
                f"{self.rows} data rows read.",
                f"{self.created} {verb}created, {self.updated} {verb}updated "
                f"({self.moved} moved to another grid), {self.unchanged} unchanged.",
            ]
            if self.grids_created:
                head.append(f"grids {verb}created: " + ", ".join(self.grids_created[:50]))
            if self.new_industries:
                head.append("new industries: " + ", ".join(self.new_industries))
        if self.codes and not self.written:
            head.append(
                f"将为 {len(self.codes)} 名新人员发放一次性登录码（导入后显示）。"
                if zh
                else f"{len(self.codes)} new members would get a one-time sign-in code."
            )
        for code in self.codes if self.written else ():
            head.append(
                f"一次性登录码 {code.phone} {code.name}：{code.code}"
                if zh
                else f"one-time sign-in code {code.phone} {code.name}: {code.code}"
            )
        for warning in self.warnings:
            head.append(("提示 " if zh else "note ") + warning.line(lang))
        if self.problem_count:
            head.append(
                f"发现 {self.problem_count} 个问题，未写入任何数据："
                if zh
                else f"{self.problem_count} problems found; nothing was written:"
            )
            head.extend("  " + p.line(lang) for p in self.all_problems())
        elif not self.written:
            head.append(
                "这是试运行，未写入任何数据；确认无误后加 --apply 导入。"
                if zh
                else "Dry run: nothing was written; add --apply to import."
            )
        else:
            head.append("已全部写入。" if zh else "Everything was written.")
        return head
