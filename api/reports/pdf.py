"""A report as a PDF with its Chinese font embedded (a subset of the glyphs used), so that it
prints and its text can be searched and copied on any machine.

The font: Noto Sans SC from the justmytype-intl-cjk package (installed with gridlink: no
system font needed), else reportlab's built-in STSong-Light (a font the PDF reader supplies:
readable and extractable, but not embedded)."""

from __future__ import annotations

import functools
import io
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from api.i18n import render
from api.reports.tables import Document, Kind
from api.reports.tables import Table as ReportTable

FONT_NAME = "GridlinkCJK"
FALLBACK_CID_FONT = "STSong-Light"


def font_file() -> Path | None:
    try:
        import justmytype_intl_cjk
    except ImportError:
        return None
    bundled = Path(justmytype_intl_cjk.__file__).parent / "fonts/ofl/notosanssc"
    found = sorted(bundled.glob("NotoSansSC*.ttf"))
    return found[0] if found else None


@functools.cache
def report_font() -> tuple[str, bool]:
    """(font name, embedded?) — registered once per process."""
    path = font_file()
    if path is not None and path.exists():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
        return FONT_NAME, True
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID_FONT))
    return FALLBACK_CID_FONT, False


def cell_text(value: object, kind: Kind) -> str:
    if value is None:
        # No figure (a rate with nothing rated): a dash, so that a blank is never read as zero.
        return "" if kind in (Kind.TEXT, Kind.TIME) else "—"
    if kind == Kind.RATE and isinstance(value, int | float):
        return f"{value:.1%}"
    if kind in (Kind.COUNT, Kind.YUAN) and isinstance(value, int | float):
        return f"{value:,.0f}"
    if kind == Kind.NUMBER and isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return render(value)


def report_pdf(document: Document) -> bytes:
    font, _embedded = report_font()
    styles = {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=4),
        "line": ParagraphStyle("line", fontName=font, fontSize=9, leading=13),
        "heading": ParagraphStyle(
            "heading", fontName=font, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4
        ),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11),
        "number": ParagraphStyle(
            "number", fontName=font, fontSize=8.5, leading=11, alignment=TA_RIGHT
        ),
    }
    out = io.BytesIO()
    page = landscape(A4)
    pdf = SimpleDocTemplate(
        out,
        pagesize=page,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=document.title,
    )
    story: list = [Paragraph(_escape(document.title), styles["title"])]
    story += [Paragraph(_escape(line), styles["line"]) for line in document.subtitle]
    width = page[0] - 28 * mm
    for table in document.tables:
        story.append(Paragraph(_escape(table.title), styles["heading"]))
        story.append(_table(table, styles, font, width))
        if table.note:
            story.append(Paragraph(_escape(table.note), styles["line"]))
        story.append(Spacer(1, 4 * mm))
    pdf.build(story)
    return out.getvalue()


def _table(table: ReportTable, styles: dict, font: str, width: float) -> Table:
    def cells(values: list, index: int | None) -> list:
        made = []
        for number, value in enumerate(values):
            kind = table.kind(index, number)
            style = styles["cell"] if kind == Kind.TEXT else styles["number"]
            made.append(Paragraph(_escape(cell_text(value, kind)), style))
        return made

    data = [[Paragraph(_escape(c.title), styles["cell"]) for c in table.columns]]
    data += [cells(row, index) for index, row in enumerate(table.rows)]
    if table.totals is not None:
        data.append(cells(table.totals, None))
    weights = [c.width for c in table.columns]
    widths = [width * w / sum(weights) for w in weights]
    made = Table(data, colWidths=widths, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if table.totals is not None:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2")))
    made.setStyle(TableStyle(style))
    return made


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
