"""PDF and Word (.docx) files into ``Article`` objects, Arabic text in logical order.

PDF (PyMuPDF, chosen by measurement: see the PDF table in docs/benchmarks.md). Its character boxes
are read line by line and put back into logical order here, because every extractor we
measured returns some Arabic lines in visual order: numbers and Latin words land at the
wrong end of the line, a lam-alef ligature comes out as alef-lam, and a mark can split a
word with a phantom space. The repair is a small inverse of the bidi algorithm over the
boxes of one line (right to left for an Arabic line, left-to-right runs of digits and Latin
kept), then NFKC-safe text (presentation forms are already folded by PyMuPDF; ``rag.text``
folds any left). Lines of one block join into a paragraph; blocks are read column by
column (right to left on an Arabic page) between full-width blocks. Page numbers and
running headers/footers are dropped; each page's start offset is kept, so a citation can
name its page.

Metadata comes from the PDF's info dictionary and XMP (title, author, creation date), else
the title is the page-1 line in the largest type. A PDF without a text layer is OCRed when
Debian's ``tesseract`` is installed (Arabic and English where their data is there), else
refused with one line naming the file; encrypted and damaged PDFs are refused the same way.

DOCX (python-docx): body paragraphs and table rows in document order; the core properties
(title, author, created) as metadata. A .docx has no fixed pages, so it has none here.

This module reads bytes and returns articles; it writes nothing.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ingest.article import Article, content_hash, parse_extracted
from ingest.dates import parse_date
from rag.errors import IngestError

# Tolerance for "the same x" between character boxes, in points.
_EPS = 0.05
_ALEFS = frozenset("اأإآ")
# Titles producers write for every file: worse than none.
_JUNK_TITLE = re.compile(r"(?i)^(untitled|about:blank|microsoft word|document\d*|\S+\.(docx?|pdf|html?|txt))")
_PAGE_NUMBER = re.compile(
    r"^[\s\-–—|.:]*(?:(?:page|صفحة|ص)\s*)?[\d٠-٩]{1,4}(?:\s*(?:/|of|من)\s*[\d٠-٩]{1,4})?[\s\-–—|.:]*$", re.IGNORECASE)


# ------------------------------------------------------------------------------ PDF


def _kind(text: str) -> str:
    """R (Arabic/Hebrew), L (Latin…), D (digits) or N (neutral) for a character unit."""
    for c in text:
        b = unicodedata.bidirectional(c)
        if b in ("R", "AL"):
            return "R"
        if b == "L":
            return "L"
        if b in ("EN", "AN"):
            return "D"
    return "N"


Box = tuple[float, float, str]  # x0, x1, character(s)


def _units(chars: list[Box]) -> list[list[Any]]:
    """Characters in content order → units that move together when the line is reordered:
    a lam-alef ligature becomes "لا" (PyMuPDF gives it as a zero-width alef then the lam),
    a mark stays with its letter, and a phantom space drawn over a zero-width letter goes."""
    out: list[list[Any]] = []
    i = 0
    n = len(chars)
    while i < n:
        x0, x1, c = chars[i]
        nxt = chars[i + 1] if i + 1 < n else None
        if c == " " and nxt and unicodedata.combining(nxt[2]) and nxt[1] - nxt[0] < _EPS and abs(nxt[0] - x0) < _EPS:
            # " ", mark, letter all at one x: the space's box is the letter's.
            chars[i + 1] = (x0, x1, nxt[2])
            i += 1
            continue
        if c in _ALEFS and x1 - x0 < _EPS and nxt and nxt[2] == "ل" and abs(nxt[1] - x0) < 0.5:
            out.append([nxt[0], nxt[1], "ل" + c])
            i += 2
            continue
        if unicodedata.combining(c):
            if nxt and not unicodedata.combining(nxt[2]) and abs(nxt[0] - x0) < _EPS and nxt[2] != " ":
                out.append([min(x0, nxt[0]), max(x1, nxt[1]), nxt[2] + c])
                i += 2
                continue
            if out:
                out[-1][2] += c
                i += 1
                continue
        out.append([x0, x1, c])
        i += 1
    return out


def line_text(chars: list[Box], size: float) -> str:
    """One line's characters (content order, with their x extents) as logical-order text."""
    units = _units(list(chars))
    if not units:
        return ""
    kinds = [_kind(u[2]) for u in units]
    rtl = kinds.count("R") >= max(1, kinds.count("L"))
    units.sort(key=lambda u: -u[0] if rtl else u[0])
    seq: list[str] = []
    last: list[Any] | None = None
    for u in units:
        if last is not None and u[2] != " " and last[2] != " ":
            gap = (last[0] - u[1]) if rtl else (u[0] - last[1])
            if gap > 0.2 * size:  # a word gap the PDF draws without a space character
                seq.append(" ")
        seq.append(u[2])
        last = u
    if not rtl:
        return "".join(seq)
    # Visual right-to-left order is logical for Arabic; runs of digits and Latin (with the
    # neutrals inside them: "2,500", "U.S.") read left to right, so they turn back.
    ks = [_kind(s) for s in seq]
    out: list[str] = []
    i = 0
    while i < len(seq):
        if ks[i] in ("L", "D"):
            j = last_strong = i
            while j < len(seq) and ks[j] != "R":
                if ks[j] in ("L", "D"):
                    last_strong = j
                j += 1
            out.extend(reversed(seq[i:last_strong + 1]))
            i = last_strong + 1
        else:
            out.append(seq[i])
            i += 1
    return "".join(out)


def _block_text(block: dict[str, Any]) -> tuple[str, float]:
    """A text block's lines joined into one paragraph, and its largest font size."""
    lines = []
    top = 0.0
    for line in block.get("lines", []):
        chars = [(ch["bbox"][0], ch["bbox"][2], ch["c"]) for sp in line["spans"] for ch in sp["chars"]]
        size = max((sp["size"] for sp in line["spans"]), default=10.0)
        top = max(top, size)
        text = line_text(chars, size).strip()
        if text:
            lines.append(text)
    para = ""
    for text in lines:
        para = _join(para, text)
    return " ".join(para.split()), top


def _join(para: str, text: str) -> str:
    """``text`` continuing ``para``: an English word hyphenated at the line end is mended."""
    if not para:
        return text
    return para[:-1] + text if para.endswith("-") and text[:1].islower() else f"{para} {text}"


def _reading_order(blocks: list[dict[str, Any]], width: float, rtl: bool) -> list[dict[str, Any]]:
    """Blocks column by column (right to left on an Arabic page), top to bottom inside a
    column; a block wider than 60% of the page ends the columns above it."""
    out: list[dict[str, Any]] = []
    band: list[dict[str, Any]] = []

    def flush() -> None:
        # Columns: blocks whose x ranges overlap share one.
        cols: list[list[Any]] = []  # [x0, x1, blocks]
        for b in sorted(band, key=lambda b: b["bbox"][0]):
            x0, _, x1, _ = b["bbox"]
            if cols and x0 < cols[-1][1] - 2:
                cols[-1][1] = max(cols[-1][1], x1)
                cols[-1][2].append(b)
            else:
                cols.append([x0, x1, [b]])
        for col in (reversed(cols) if rtl else cols):
            out.extend(sorted(col[2], key=lambda b: b["bbox"][1]))
        band.clear()

    for b in sorted(blocks, key=lambda b: b["bbox"][1]):
        if b["bbox"][2] - b["bbox"][0] > 0.6 * width:
            flush()
            out.append(b)
        else:
            band.append(b)
    flush()
    return out


def _page_paragraphs(page: Any) -> tuple[list[str], list[tuple[float, str]]]:
    """A page's paragraphs in reading order, and (font size, text) of each for the title."""
    d = page.get_text("rawdict")
    blocks = [b for b in d.get("blocks", []) if b.get("type") == 0 and b.get("lines")]
    texts = {id(b): _block_text(b) for b in blocks}
    strong = Counter(_kind(c) for t, _ in texts.values() for c in t)
    ordered = _reading_order(blocks, float(d.get("width") or page.rect.width), strong["R"] >= strong["L"])
    # Some producers (Chromium among them) make each line a block: a block that continues
    # the one above it in the same column, in the same type, with no paragraph gap, is
    # the same paragraph.
    merged: list[list[Any]] = []  # [text, size, bbox]
    for b in ordered:
        text, size = texts[id(b)]
        if not text:
            continue
        x0, y0, x1, y1 = b["bbox"]
        if merged:
            prev = merged[-1]
            px0, _, px1, py1 = prev[2]
            if (abs(prev[1] - size) < 0.5 and -0.5 * size < y0 - py1 < 0.4 * size
                    and min(x1, px1) - max(x0, px0) > 0):
                prev[0] = _join(prev[0], text)
                prev[2] = (min(x0, px0), prev[2][1], max(x1, px1), y1)
                continue
        merged.append([text, size, (x0, y0, x1, y1)])
    return [m[0] for m in merged], [(m[1], m[0]) for m in merged]


def _drop_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Page numbers, and running headers/footers (the same first or last line on at least
    three pages and half of them), are not article text."""
    edge: Counter[str] = Counter()
    for paras in pages:
        for p in {paras[0], paras[-1]} if paras else set():
            edge[" ".join(p.split())] += 1
    running = {p for p, n in edge.items() if n >= 3 and n >= len(pages) / 2}
    out = []
    for paras in pages:
        kept = [p for i, p in enumerate(paras)
                if not _PAGE_NUMBER.match(p) and not ((i == 0 or i == len(paras) - 1) and p in running)]
        out.append(kept)
    return out


def _pdf_date(value: str) -> str:
    """``D:20240131093000+03'00'`` (PDF) or an XMP date → ISO 8601, else ""."""
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?", value.strip())
    if m and not re.match(r"^\d{4}-", value.strip()):
        y, mo, d, h, mi, s = (g or "" for g in m.groups())
        if not mo:
            return ""
        return parse_date(f"{y}-{mo}-{d or '01'}" + (f"T{h}:{mi or '00'}:{s or '00'}" if h else ""))
    return parse_date(value.strip()) if value.strip() else ""


def _xmp(xml: str, tag: str) -> str:
    m = re.search(rf"<{tag}[^>]*>(.*?)</{tag}>", xml, re.DOTALL)
    if not m:
        return ""
    inner = m.group(1)
    li = re.search(r"<rdf:li[^>]*>(.*?)</rdf:li>", inner, re.DOTALL)
    return re.sub(r"<[^>]+>", "", li.group(1) if li else inner).strip()


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    return "" if not title or _JUNK_TITLE.match(title) else title


def _first_heading(sized: list[tuple[float, str]]) -> str:
    """The first page-1 paragraph set in the largest type, when that is larger than the
    body's usual size (else there is no heading to take)."""
    short = [(round(size, 1), text) for size, text in sized if len(text.split()) <= 25]
    if not short:
        return ""
    body = Counter(round(size, 1) for size, _ in sized).most_common(1)[0][0]
    biggest = max(size for size, _ in short)
    return next(text for size, text in short if size == biggest) if biggest > body else ""


def _ocr_langs() -> str:
    """Tesseract's installed languages among Arabic and English, as ``-l`` wants them."""
    try:
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    have = set(out.split())
    return "+".join(lang for lang in ("ara", "eng") if lang in have)


def _ocr(doc: Any, source: str) -> list[str]:
    """Each page rendered at 300 dpi and read by Debian's tesseract."""
    langs = _ocr_langs()
    if not langs:
        raise IngestError(f"{source}: no text layer, and tesseract has neither Arabic nor English data")
    pages = []
    for page in doc:
        png = page.get_pixmap(dpi=300).tobytes("png")
        try:
            run = subprocess.run(["tesseract", "stdin", "stdout", "-l", langs], input=png, capture_output=True,
                                 timeout=300)
        except (OSError, subprocess.SubprocessError) as e:
            raise IngestError(f"{source}: OCR failed on page {page.number + 1}: {e}") from e
        if run.returncode != 0:
            raise IngestError(f"{source}: OCR failed on page {page.number + 1}: "
                              f"{run.stderr.decode('utf-8', 'replace').strip()[-200:]}")
        text = run.stdout.decode("utf-8", "replace")
        pages.append("\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()))
    return pages


def _open_pdf(raw: bytes, source: str) -> Any:
    import pymupdf

    if b"%PDF-" not in raw[:1024]:  # the header may follow a little junk, as readers allow
        raise IngestError(f"{source}: not a PDF (no %PDF- header)")
    if b"%%EOF" not in raw[-4096:]:
        # A download cut short: what a repair would recover is part of the document.
        raise IngestError(f"{source}: the PDF is truncated (no end-of-file marker); nothing of it was stored")
    try:
        doc = pymupdf.open(stream=raw, filetype="pdf")
    except Exception as e:  # PyMuPDF raises its own FileDataError / RuntimeError variants
        raise IngestError(f"{source}: not a readable PDF ({e})") from e
    if doc.needs_pass:
        raise IngestError(f"{source}: the PDF is encrypted (password protected); save an unprotected copy to ingest it")
    if doc.is_repaired and doc.page_count == 0:
        raise IngestError(f"{source}: the PDF is damaged or truncated (no readable pages)")
    return doc


def from_pdf(raw: bytes, source: str) -> Iterator[Article | str]:
    """One Article per PDF file (pages joined, each page's start offset kept), then a note
    (str) when the text came from OCR. IngestError for encrypted, damaged, empty or
    image-only PDFs without OCR."""
    doc = _open_pdf(raw, source)
    with doc:
        try:
            extracted = [_page_paragraphs(page) for page in doc]
        except Exception as e:
            raise IngestError(f"{source}: the PDF is damaged or truncated ({e})") from e
        if doc.is_repaired and not any(p for p, _ in extracted):
            raise IngestError(f"{source}: the PDF is damaged or truncated (no text could be read)")
        pages = [p for p, _ in extracted]
        ocr = False
        if not any(pages):
            if not shutil.which("tesseract"):
                raise IngestError(f"{source}: no text layer (a scanned or image-only PDF); install "
                                  "tesseract-ocr and tesseract-ocr-ara to OCR it")
            pages = [[p] if p else [] for p in _ocr(doc, source)]
            ocr = True
        else:
            pages = _drop_furniture(pages)
        meta = doc.metadata or {}
        xml = doc.get_xml_metadata() or ""
    title = _clean_title(meta.get("title") or "") or _clean_title(_xmp(xml, "dc:title"))
    if not title and not ocr and extracted:
        title = _first_heading(extracted[0][1])
    author = " ".join((meta.get("author") or _xmp(xml, "dc:creator")).split())
    date = _pdf_date(meta.get("creationDate") or "") or _pdf_date(_xmp(xml, "xmp:CreateDate"))
    starts, parts, at = [], [], 0
    for paras in pages:
        starts.append(at)
        block = "\n".join(paras)
        parts.append(block)
        at += len(block) + 1
    text = "\n".join(parts)
    if not text.strip():
        raise IngestError(f"{source}: no text found in the PDF")
    article = parse_extracted(text, source, title=title, byline=author, date=date, digest=content_hash(raw))
    yield replace(article, pages=tuple(starts))
    if ocr:
        yield f"{source}: no text layer; read by OCR (tesseract)"


# ----------------------------------------------------------------------------- DOCX


def from_docx(raw: bytes, source: str) -> Article:
    """The body's paragraphs and table rows in document order, with the core properties."""
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(raw))
    except Exception as e:  # a zip that is not a document, an encrypted (OLE) file, a .doc renamed
        raise IngestError(f"{source}: not a readable Word .docx file ({type(e).__name__}: {e})") from e
    paras: list[str] = []
    heading = ""
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split())
            style = (item.style.name if item.style is not None else "") or ""
            if text and not heading and (style.startswith("Heading") or style == "Title"):
                heading = text
            if text:
                paras.append(text)
        elif isinstance(item, Table):
            for row in item.rows:
                cells: list[str] = []
                for cell in row.cells:
                    t = " ".join(cell.text.split())
                    if t and (not cells or cells[-1] != t):  # merged cells repeat their text
                        cells.append(t)
                if cells:
                    paras.append(" | ".join(cells))
    if not paras:
        raise IngestError(f"{source}: the document has no text")
    props = document.core_properties
    title = _clean_title(props.title or "") or heading
    created = props.created.isoformat() if props.created else ""
    return parse_extracted("\n".join(paras), source, title=title, byline=" ".join((props.author or "").split()),
                           date=parse_date(created) if created else "", digest=content_hash(raw))
