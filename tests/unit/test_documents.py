"""PDF and Word files (ingest.documents) without a browser: a PDF line's glyph boxes in visual
order read back in logical order; DOCX paragraphs, tables and properties. The PDFs Chromium
prints are in tests/integration/test_documents.py."""

from __future__ import annotations

from pathlib import Path

from ingest.documents import from_docx, line_text
from tests.support.documents import AR, AR_TITLE, write_docx
from tests.support.extraction import TABLE, similarity


def test_an_arabic_line_in_visual_order_comes_back_logical() -> None:
    # Boxes right to left for "منذ يناير 2017 وعقد 22" as a PDF draws them: the Arabic
    # glyphs from the right edge, each number's digits left to right inside its run.
    boxes, x = [], 300.0
    for word in ("منذ", "يناير"):
        for ch in word:
            boxes.append((x - 6, x, ch))
            x -= 6
        boxes.append((x - 3, x, " "))
        x -= 3
    digits_x = x - 24
    boxes += [(digits_x + 6 * i, digits_x + 6 * (i + 1), d) for i, d in enumerate("2017")]
    x = digits_x - 3
    boxes.append((x, x + 3, " "))
    for ch in "وعقد":
        boxes.append((x - 6, x, ch))
        x -= 6
    boxes.append((x - 3, x, " "))
    x -= 3
    boxes += [(x - 12 + 6 * i, x - 12 + 6 * (i + 1), d) for i, d in enumerate("22")]
    assert line_text(boxes, 12.0) == "منذ يناير 2017 وعقد 22"
    # A lam-alef ligature as PyMuPDF gives it (a zero-width alef, then the lam): "لا".
    assert line_text([(14, 20, "ث"), (14, 14, "ا"), (8, 14, "ل"), (2, 8, "ث")], 12.0) == "ثلاث"


# ------------------------------------------------------------------------------ DOCX


def test_docx_paragraphs_in_order_with_tables_and_core_properties(tmp_path: Path) -> None:
    path = tmp_path / "release.docx"
    write_docx(path, "بيان: اجتماع الدول الضامنة", "إدارة الإعلام", AR_TITLE, AR[:3], TABLE)
    article = from_docx(path.read_bytes(), str(path))
    assert (article.title, article.byline, article.date[:10]) == ("بيان: اجتماع الدول الضامنة", "إدارة الإعلام",
                                                                 "2015-08-03")
    text = article.text
    positions = [text.index(p) for p in AR[:3]]
    assert positions == sorted(positions)
    assert "المدينة | العدد" in text and "الرياض | 120" in text and text.index("الرياض") > positions[-1]
    assert similarity("\n".join([AR_TITLE, *AR[:3], *(" | ".join(r) for r in TABLE)]), text) >= 0.98
    # Without a title property, the first heading is the title.
    write_docx(path, "", "", "عنوان الخبر الرئيسي", AR[:1])
    assert from_docx(path.read_bytes(), str(path)).title == "عنوان الخبر الرئيسي"
