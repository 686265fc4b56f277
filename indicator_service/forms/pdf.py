"""The scored form as a PDF (ReportLab), from the same :class:`~.writer.Layout` as the workbook.

The CJK font is taken from the system: WenQuanYi Zen Hei (Debian ``fonts-wqy-zenhei``) or
another TrueType CJK font found by fontconfig. Without one the PDF cannot show Chinese and
:class:`NoCJKFont` is raised (the API answers 503).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from indicator_service.core.i18n import _
from indicator_service.forms.writer import COLUMNS, WIDTHS, Layout

FONT_NAME = "FormCJK"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


class NoCJKFont(RuntimeError):
    pass


def find_cjk_font() -> Path | None:
    """A TrueType font file with Chinese glyphs (ReportLab cannot embed CFF/OpenType CJK)."""
    for c in CANDIDATES:
        if Path(c).is_file():
            return Path(c)
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(
                ["fc-match", "-f", "%{file}", ":lang=zh-cn:fontformat=TrueType"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out.lower().endswith((".ttf", ".ttc")) and Path(out).is_file():
            return Path(out)
    return None


@lru_cache(maxsize=1)
def _register() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = find_cjk_font()
    if path is None:
        raise NoCJKFont(_("no CJK font found: install fonts-wqy-zenhei"))
    if path.suffix.lower() == ".ttc":
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
    else:
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
    return FONT_NAME


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".") if abs(v) < 1e12 else f"{v:g}"
    return str(v)


def render_pdf(layouts: Sequence[tuple[str, Layout]]) -> bytes:
    """One A4 page (or more, for a long form) per layout, the grid drawn as the workbook's."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    font = _register()
    out = io.BytesIO()
    margin = 10 * mm
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title="绩效自评表",
    )
    usable = A4[0] - 2 * margin
    scale = usable / sum(WIDTHS)
    widths = [w * scale for w in WIDTHS]
    centre = ParagraphStyle("c", fontName=font, fontSize=7.5, leading=9.5, alignment=TA_CENTER)
    left = ParagraphStyle("l", parent=centre, alignment=TA_LEFT)
    title = ParagraphStyle("t", parent=centre, fontSize=15, leading=20)
    story: list[object] = []
    for k, (_layout, g) in enumerate(layouts):
        if k:
            story.append(PageBreak())
        data = []
        for r in range(g.rows):
            row = []
            for c in range(COLUMNS):
                v = g.cells.get((r, c))
                text = _text(v)
                if (r, c) in g.percent and isinstance(v, float):
                    text = f"{v * 100:.2f}%"
                style = title if r == 0 else (left if (r, c) in g.left else centre)
                if (r, c) in g.bold and r:
                    text = f"<b>{_escape(text)}</b>" if text else ""
                else:
                    text = _escape(text)
                row.append(Paragraph(text, style) if text else "")
            data.append(row)
        t = Table(data, colWidths=widths, repeatRows=0)
        cmds: list[tuple[object, ...]] = [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("GRID", (0, g.border_from), (-1, g.border_to), 0.5, colors.black),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        cmds += [("SPAN", (c1, r1), (c2, r2)) for r1, c1, r2, c2 in g.merges]
        t.setStyle(TableStyle(cmds))
        story.append(t)
    if not story:
        story.append(Paragraph("（无表单）", centre))
    doc.build(story)
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
