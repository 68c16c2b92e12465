"""`gridlink import template KIND`: an XLSX with the headers, a filled example row and a notes
sheet, all from the column declarations (api/imports/columns.py)."""

from __future__ import annotations

from pathlib import Path

from api.imports.columns import SheetKind


def write_template(kind: SheetKind, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = kind.title_zh
    sheet.append([column.zh for column in kind.columns])
    sheet.append([column.example for column in kind.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(kind.columns):
        letter = sheet.cell(row=1, column=index + 1).column_letter
        sheet.column_dimensions[letter].width = max(
            12, len(column.zh) * 2 + 4, len(column.example) + 2
        )
        # Codes and phones are text: Excel would turn 13800000000 into 1.38E+10.
        sheet.column_dimensions[letter].number_format = "@"
    notes = book.create_sheet("填写说明")
    notes.append(["列", "English", "必填", "说明"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in kind.columns:
        notes.append([column.zh, column.en, "是" if column.required else "否", column.note])
    notes.append([])
    notes.append(["只读取第一个工作表；第一行为表头，可用中文或英文列名；空行跳过。"])
    notes.append(["先试运行（不加 --apply）查看将做什么和每个问题，再加 --apply 一次性写入。"])
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 22
    notes.column_dimensions["D"].width = 70
    book.save(path)
