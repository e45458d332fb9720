"""PDF and Word files (ingest.documents) without a browser: a PDF line's glyph boxes in visual
order read back in logical order (as PyMuPDF and as PDFium give them); the XMP packet found
plain or compressed; DOCX paragraphs, tables and properties. The PDFs Chromium prints are in
tests/integration/test_documents.py."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

from ingest.documents import _pdf_date, _xmp, _xmp_packet, from_docx, line_text
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


def _drawn_right_to_left(runs: list[str], x: float = 300.0, width: float = 6.0) -> list[tuple[float, float, str]]:
    """Boxes for ``runs`` laid out right to left; a run of digits or Latin reads left to right."""
    boxes = []
    for run in runs:
        if run.isascii() and run.strip() and run not in "()":
            x -= width * len(run)
            boxes += [(x + width * i, x + width * (i + 1), c) for i, c in enumerate(run)]
            continue
        for c in run:
            boxes.append((x - width, x, c))
            x -= width
    return boxes


def test_pdfium_boxes_brackets_and_marks_come_back_logical() -> None:
    # PDFium names the glyph drawn: right to left, "(" is drawn as ")" and ")" as "(".
    boxes = _drawn_right_to_left(["الضامنة", " ", ")", "روسيا", "(", " ", "عام", " ", "2015"])
    assert line_text(boxes, 12.0, pdfium=True) == "الضامنة (روسيا) عام 2015"
    # PDFium's own bidi pass turned one of a pair at a Latin run's edge: their places decide.
    boxes = _drawn_right_to_left(["تطبيق", " ", ")", "Share File", ")", " ", "المجاني"])
    assert line_text(boxes, 12.0, pdfium=True) == "تطبيق (Share File) المجاني"
    # A letter with its mark where PDFium has only the mark's box (the base glyph's advance
    # lost): the gap it leaves inside the word is no word gap; a wider one still is.
    inside = [(30.0, 36.0, "ا"), (24.5, 27.0, "ع"), (23.0, 24.5, "\u064b"), (16.0, 22.0, "ا")]
    assert line_text(inside, 12.0, pdfium=True) == "اعًا"
    apart = [(40.0, 46.0, "ا"), (24.5, 27.0, "ع"), (23.0, 24.5, "\u064b"), (16.0, 22.0, "ا")]
    assert line_text(apart, 12.0, pdfium=True) == "ا عًا"


def _pdf_with_xmp(compressed: bool) -> bytes:
    """A blank page whose only metadata is an XMP packet, plain or Flate-compressed."""
    import pypdf
    from pypdf.generic import DecodedStreamObject, NameObject

    xmp = ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
           '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">نشرة الموانئ</rdf:li></rdf:Alt></dc:title>'
           "<dc:creator><rdf:Seq><rdf:li>إدارة الإعلام</rdf:li></rdf:Seq></dc:creator>"
           "<xmp:CreateDate>2015-08-04T10:00:00+03:00</xmp:CreateDate>"
           '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    stream = DecodedStreamObject()
    stream.set_data(xmp.encode("utf-8"))
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    writer.root_object[NameObject("/Metadata")] = writer._add_object(stream.flate_encode() if compressed else stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_xmp_packet_is_found_plain_or_compressed() -> None:
    for compressed in (False, True):
        raw = _pdf_with_xmp(compressed)
        assert (b"<x:xmpmeta" in raw) is not compressed
        xml = _xmp_packet(raw)
        assert (_xmp(xml, "dc:title"), _xmp(xml, "dc:creator")) == ("نشرة الموانئ", "إدارة الإعلام")
        assert _pdf_date(_xmp(xml, "xmp:CreateDate"))[:10] == datetime.date(2015, 8, 4).isoformat()
    assert _xmp_packet(b"%PDF-1.7\n%%EOF") == ""


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
