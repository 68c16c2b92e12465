"""Every sentence the imports show a person, Chinese first with its English, keyed by a stable
code (one table, ready to move into the message catalogue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# code: (Chinese, English); {placeholders} are filled from the problem's values.
MESSAGES: dict[str, tuple[str, str]] = {
    # The file as a whole
    "FILE_EMPTY": ("文件是空的，或第一行没有表头。", "The file is empty or has no header row."),
    "FILE_XLS": (
        "这是旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 或 CSV 后再导入。",
        "This is an old Excel (.xls) file; save it as .xlsx or CSV and import that.",
    ),
    "FILE_UNREADABLE": (
        "无法读取文件：{reason}。请确认它是 .xlsx 或 CSV 文件。",
        "The file cannot be read: {reason}. Give an .xlsx or CSV file.",
    ),
    "FILE_ENCODING": (
        "CSV 文件既不是 UTF-8 也不是 GBK 编码，请用 Excel 另存为“CSV UTF-8”。",
        "The CSV file is neither UTF-8 nor GBK; save it from Excel as 'CSV UTF-8'.",
    ),
    "HEADER_MISSING": (
        "缺少必填列“{name}”。表头可用中文或英文（{english}）。",
        "The required column '{name}' is missing; headers may be Chinese or English ({english}).",
    ),
    "HEADER_UNKNOWN": (
        "不认识的列“{header}”，已忽略。可用的列：{known}。",
        "Unknown column '{header}', ignored. Known columns: {known}.",
    ),
    "HEADER_DUPLICATE": ("列“{name}”出现了两次。", "The column '{name}' appears twice."),
    "TOO_MANY_PROBLEMS": (
        "问题太多，只列出前 {shown} 个，另有 {more} 个未列出。",
        "Too many problems: the first {shown} are listed, {more} more are not.",
    ),
    # Cells
    "REQUIRED": ("必填，不能为空。", "Required; it is empty."),
    "TOO_LONG": (
        "太长了：最多 {maximum} 个字，这里有 {length} 个。",
        "Too long: {length} > {maximum}.",
    ),
    "CREDIT_LENGTH": (
        "统一社会信用代码应为 18 位，这里是 {length} 位。",
        "A unified social credit code has 18 characters; this has {length}.",
    ),
    "CREDIT_CHARS": (
        "统一社会信用代码不能含有字符 {chars}（不用 I、O、S、V、Z）。",
        "A unified social credit code cannot contain {chars} (no I, O, S, V, Z).",
    ),
    "CREDIT_CHECK": (
        "统一社会信用代码校验位不符：按前 17 位应为 {expected}，这里是 {actual}，请核对是否抄错。",
        "The credit code's check character should be {expected}, not {actual}: check for a typo.",
    ),
    "CREDIT_DUPLICATE": (
        "统一社会信用代码 {code} 在本文件第 {first} 行已出现过。",
        "The credit code {code} already appears on row {first} of this file.",
    ),
    "HEADCOUNT_NUMBER": (
        "职工人数应为整数，这里是“{value}”。",
        "Headcount must be a whole number, got '{value}'.",
    ),
    "HEADCOUNT_RANGE": (
        "职工人数应在 0 到 1000000 之间，这里是 {value}。",
        "Headcount must be between 0 and 1,000,000, got {value}.",
    ),
    "YES_NO": ("应填“是”或“否”，这里是“{value}”。", "Must be 是/否 (yes/no), got '{value}'."),
    "TOWN_UNKNOWN": (
        "乡镇“{value}”不在网格树中；请先导入网格（gridlink import grids）或改正名称。",
        "The town '{value}' is not in the grid tree; import the grids first or fix the name.",
    ),
    "PARK_UNKNOWN": (
        "园区“{value}”不在网格树中；请先导入网格或改正名称。",
        "The park '{value}' is not in the grid tree; import the grids first or fix the name.",
    ),
    "PARK_TOWN": (
        "园区“{park}”不属于乡镇“{town}”。",
        "The park '{park}' is not in the town '{town}'.",
    ),
    "INDUSTRY_UNKNOWN": (
        "行业“{value}”不是已有行业（如 {known}）；"
        "如确为新行业，请加 --allow-new-industries 再导入。",
        "The industry '{value}' is not a known industry (e.g. {known}); if it is new, import "
        "with --allow-new-industries.",
    ),
    "OUT_OF_SCOPE": (
        "“{value}”不在您管理的范围内。",
        "'{value}' is outside the area you manage.",
    ),
    "PHONE_INVALID": (
        "手机号应为 11 位、以 13–19 开头，这里是“{value}”。",
        "A phone number is 11 digits starting with 13-19, got '{value}'.",
    ),
    "PHONE_DUPLICATE": (
        "手机号 {phone} 在本文件第 {first} 行已出现过。",
        "The phone {phone} already appears on row {first} of this file.",
    ),
    "ROLE_UNKNOWN": (
        "不认识的角色“{value}”；可用：{known}。",
        "Unknown role '{value}'; roles are {known}.",
    ),
    "ROLE_NOT_ALLOWED": (
        "您不能导入角色为“{value}”的人员。",
        "You may not import a member with the role '{value}'.",
    ),
    "GRID_UNKNOWN": (
        "网格“{value}”不存在；请填写网格编码（如 SY-T01-J01）或网格名称。",
        "The grid '{value}' does not exist; give a grid code (e.g. SY-T01-J01) or name.",
    ),
    "GRID_KIND": (
        "网格类型应为 县、镇 或 园区（COUNTY、TOWN、PARK），这里是“{value}”。",
        "The grid type must be 县, 镇 or 园区 (COUNTY, TOWN, PARK), got '{value}'.",
    ),
    "GRID_PARENT": (
        "上级网格“{value}”不存在，或不能作为{kind}的上级（须在本行之前或已在系统中）。",
        "The parent grid '{value}' does not exist or cannot hold a {kind} grid (it must come "
        "on an earlier row or already exist).",
    ),
    "GRID_MOVED": (
        "网格 {code} 已在“{current}”之下，不能通过导入改挂到“{value}”。",
        "The grid {code} is under '{current}'; an import cannot move it to '{value}'.",
    ),
    "REFUSED": ("{reason}", "{reason}"),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (row and column, when known) and what."""

    code: str
    row: int | None = None
    column: str | None = None
    values: tuple[tuple[str, Any], ...] = ()

    @property
    def zh(self) -> str:
        return MESSAGES[self.code][0].format(**dict(self.values))

    @property
    def en(self) -> str:
        return MESSAGES[self.code][1].format(**dict(self.values))

    def line(self, lang: str = "zh") -> str:
        text = self.zh if lang == "zh" else self.en
        if lang == "zh":
            where = (f"第 {self.row} 行" if self.row else "") + (
                f"“{self.column}”列" if self.column else ""
            )
            return f"{where}：{text}" if where else text
        where = ", ".join(
            part for part in (f"row {self.row}" if self.row else "", self.column or "") if part
        )
        return f"{where}: {text}" if where else text


def problem(
    which: str, row: int | None = None, column: str | None = None, **values: Any
) -> Problem:
    return Problem(which, row, column, tuple(values.items()))
