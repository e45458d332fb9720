"""PDF and Word (.docx) files into ``Article`` objects, Arabic text in logical order.

PDF, read with pypdfium2 (Google's PDFium; Apache-2.0 and BSD-3-Clause). It replaced PyMuPDF
(AGPL-3.0) on 2026-12-07 with the same text on every test fixture; bench/pdf_extractors.py
compares the two, docs/decisions.md "PDF extraction" has the figures. PDFium gives each
character and its box; its lines (a piece of a line it gives apart is joined again) are put
back into logical order here, because a PDF holds Arabic as drawn: numbers and Latin words
land at the wrong end of a line, a bracket may be its mirror image, a lam-alef ligature's two
letters share one glyph, a mark is a glyph of its own. The repair is a small inverse of the
bidi algorithm over one line's boxes: right to left for an Arabic line, runs of digits and
Latin kept left to right, a word gap wherever the boxes leave one, brackets read from their
places. Lines that continue one another join into a paragraph; blocks are read column by
column (right to left on an Arabic page) between full-width ones; a table row is one line,
its cells in reading order. Page numbers and running headers/footers are dropped; each
page's start offset is kept, so a citation can name its page.

Metadata: title, author and creation date from the info dictionary, else from the XMP packet;
else the title is the page-1 paragraph in the largest type. A PDF without a text layer is
OCRed when Debian's ``tesseract`` is installed (each page rendered at 300 dpi, in grey, as
PNG; Arabic and English where their data is there), else refused with one line naming the
file; encrypted, truncated and damaged PDFs are refused the same way.

Not done: Arabic words inside an English line stay in visual order; vertical and rotated
text is read as if horizontal; a table keeps no cell structure (a row is a line); footnotes
stay where they are drawn; annotations, form fields and attachments are not read. A letter
whose mark the producer draws first (Chromium, sometimes) has only the mark's box in PDFium,
so a gap next to it must be wider to count as a word gap. PDFium is not thread-safe: every
call into it holds one lock of this module.

DOCX (python-docx): body paragraphs and table rows in document order; the core properties
(title, author, created) as metadata. A .docx has no fixed pages, so it has none here.

This module reads bytes and returns articles; it writes nothing.
"""

from __future__ import annotations

import functools
import io
import itertools
import operator
import re
import shutil
import subprocess
import threading
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, cast

from ingest.article import Article, content_hash, parse_extracted
from ingest.dates import parse_date
from rag.errors import IngestError

# Tolerance for "the same x" between character boxes, in points.
_EPS = 0.05
_ALEFS = frozenset("اأإآ")
# A renderer draws these with their mirror image in right-to-left text; PDFium names the glyph drawn.
_MIRROR = dict(zip("()[]{}«»‹›", ")(][}{»«›‹", strict=True))
_OPENING, _CLOSING = frozenset("([{«‹"), frozenset(")]}»›")
_BRACKET = re.compile(r"[()\[\]{}«»‹›]")
# Titles producers write for every file: worse than none.
_JUNK_TITLE = re.compile(r"(?i)^(untitled|about:blank|microsoft word|document\d*|\S+\.(docx?|pdf|html?|txt))")
_PAGE_NUMBER = re.compile(
    r"^[\s\-–—|.:]*(?:(?:page|صفحة|ص)\s*)?[\d٠-٩]{1,4}(?:\s*(?:/|of|من)\s*[\d٠-٩]{1,4})?[\s\-–—|.:]*$", re.IGNORECASE)
# PDFium may call into nothing else while one thread is inside it (not even for another document).
_PDFIUM = threading.Lock()
# PDFium's characters: a line is what lies between its line breaks; other control characters
# and bidi marks go (as "\0"), other spaces become " ", its hyphen marks become "-".
_PDFIUM_CHARS = {**dict.fromkeys([*range(0x20), 0x200B, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
                                  0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF], "\0"),
                 **dict.fromkeys([0x09, 0xA0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000], " "),
                 **dict.fromkeys([0x02, 0xAD, 0xFFFE], "-"), 0x0D: "\n", 0x0A: "\n"}
_LAM_ALEF = re.compile("ل[اأإآ]")
_LETTER = re.compile(r"[^\s\0]")
_PDFIUM_LINE = re.compile(r"[^\n]+")
_PDFIUM_SPACE = re.compile(r"[ \0]")


# ------------------------------------------------------------------------------ PDF


def _kind_of(text: str) -> str:
    for c in text:
        b = unicodedata.bidirectional(c)
        if b in ("R", "AL"):
            return "R"
        if b == "L":
            return "L"
        if b in ("EN", "AN"):
            return "D"
    return "N"


_KINDS: dict[str, str] = {}


def _kind(text: str) -> str:
    """R (Arabic/Hebrew), L (Latin…), D (digits) or N (neutral) for a character unit."""
    kind = _KINDS.get(text)
    if kind is None:
        kind = _kind_of(text)
        if len(_KINDS) >= 8192:  # letters with unusual marks: start again rather than grow
            _KINDS.clear()
        _KINDS[text] = kind
    return kind


# x0, x1, the character(s), then whatever else an extractor keeps (PDFium's: bottom, top).
Box = tuple[Any, ...]
Line = tuple[list[Box], float]  # a line's boxes in content order, and its font size
# A block: {"bbox": (x0, top, x1, bottom) with y growing down the page, "lines": [Line, ...]}.
Block = dict[str, Any]
_MARKS = frozenset(chr(i) for i in range(0x300, 0x10000) if unicodedata.combining(chr(i)))
_MARK_RE = re.compile("[" + "".join(sorted(_MARKS)).replace("\\", "\\\\").replace("]", "\\]") + "]")
# A run read left to right inside a right-to-left line: from a digit or Latin unit to the
# last one before the next Arabic unit, with the neutrals between ("2,500", "U.S.").
_LTR_RUN = re.compile(r"[LD](?:[^R]*[LD])?")
_MIRROR_TABLE = str.maketrans(_MIRROR)


def _units(chars: list[Box], pdfium: bool = False) -> list[Box]:
    """Characters in content order → units that move together when the line is reordered:
    a lam-alef ligature given as a zero-width alef then the lam becomes "لا", a mark goes on
    its letter, and a phantom space drawn over a zero-width letter goes (the zero-width
    cases are PyMuPDF's; PDFium's boxes have none)."""
    if not _MARK_RE.search("".join(map(_TEXT, chars))) and (
            pdfium or min(map(operator.sub, map(_X1, chars), map(_X0, chars))) >= _EPS):
        return chars  # the usual line: nothing to join
    out: list[Box] = []
    marks: list[tuple[float, float, str, int]] = []  # x0, x1, mark, the unit before it
    chars = list(chars)
    i = 0
    n = len(chars)
    while i < n:
        x0, x1, c = chars[i][:3]
        nxt = chars[i + 1] if i + 1 < n else None
        if c == " " and nxt and nxt[2] in _MARKS and nxt[1] - nxt[0] < _EPS and abs(nxt[0] - x0) < _EPS:
            # " ", mark, letter all at one x: the space's box is the letter's.
            chars[i + 1] = (x0, x1, nxt[2])
            i += 1
            continue
        if c in _ALEFS and x1 - x0 < _EPS and nxt and nxt[2] == "ل" and abs(nxt[1] - x0) < 0.5:
            out.append((nxt[0], nxt[1], "ل" + c))
            i += 2
            continue
        if c in _MARKS:
            if nxt and nxt[2] not in _MARKS and nxt[2] != " " and abs(nxt[0] - x0) < _EPS:
                # Drawn at the next letter's origin (PyMuPDF): that letter's mark.
                out.append((min(x0, nxt[0]), max(x1, nxt[1]), nxt[2] + c))
                i += 2
                continue
            marks.append((x0, x1, c, len(out) - 1))
            i += 1
            continue
        out.append((x0, x1, c))
        i += 1
    for x0, x1, c, before in marks:
        # The letter it is drawn over or against (PDFium may give a cluster's mark after
        # another letter); the one before it in content order when two are as near.
        if not out:
            out.append((x0, x1, c))
            continue
        cands = [k for k, u in enumerate(out) if u[2] != " "] or list(range(len(out)))
        k = min(cands, key=lambda k: (round(max(out[k][0] - x1, x0 - out[k][1], 0.0) / _EPS), k != before))
        u = out[k]
        out[k] = (min(u[0], x0), max(u[1], x1), u[2] + c)
    return out


def line_text(chars: list[Box], size: float, pdfium: bool = False) -> str:
    """One line's characters (content order, with their x extents) as logical-order text.
    ``pdfium``: the boxes come from PDFium (see ``_line``)."""
    return _line(chars, size, pdfium)[0]


def _line(chars: list[Box], size: float, pdfium: bool) -> tuple[str, int, int]:
    """``line_text``, and the line's counts of right-to-left and left-to-right units.

    ``pdfium`` (PDFium's boxes): a bracket may name the glyph drawn, which right to left
    is its mirror image, so brackets are read again from their places (``_brackets``); and
    a letter with a mark PDFium gives only the first glyph's box for (the mark's, when the
    producer draws it first), so a gap beside such a letter is a word gap only when wider."""
    if not chars:
        return "", 0, 0
    units = _units(chars, pdfium)
    texts = list(map(_TEXT, units))
    cached = list(map(_KINDS.get, texts))
    kinds = [k or _kind(t) for k, t in zip(cached, texts, strict=True)] if None in cached else cast(list[str], cached)
    n_r, n_l = kinds.count("R"), kinds.count("L")
    rtl = n_r >= max(1, n_l)
    left = list(map(_X0, units))
    order = sorted(range(len(units)), key=left.__getitem__, reverse=rtl)  # stable: one x keeps its order
    xs0, xs1 = list(map(left.__getitem__, order)), list(map(list(map(_X1, units)).__getitem__, order))
    ss, ks = list(map(texts.__getitem__, order)), list(map(kinds.__getitem__, order))
    # Gaps between neighbours; one wider than a fifth of the type size is a word gap the PDF
    # draws without a space character.
    gaps = list(map(operator.sub, xs0[:-1], xs1[1:]) if rtl else map(operator.sub, xs0[1:], xs1[:-1]))
    wide = 0.2 * size
    wider = 0.35 * size if pdfium else wide
    need = [k for k in itertools.compress(range(1, len(ss)), map(wide.__lt__, gaps))
            if ss[k] != " " and ss[k - 1] != " "
            and (gaps[k - 1] > wider or not (ss[k][-1] in _MARKS or ss[k - 1][-1] in _MARKS))]
    seq, kl = list(ss), list(ks)
    for k in reversed(need):
        seq.insert(k, " ")
        kl.insert(k, "N")
    if not rtl:
        text = "".join(seq)
    else:
        # Visual right-to-left order is logical for Arabic; runs of digits and Latin read
        # left to right, so they turn back.
        parts: list[str] = []
        at = 0
        for m in _LTR_RUN.finditer("".join(kl)):
            start, end = m.span()
            parts.append("".join(seq[at:start]))
            parts.append("".join(reversed(seq[start:end])))
            at = end
        parts.append("".join(seq[at:]))
        if pdfium:  # right-to-left stretches: a bracket's glyph is its mirror image
            parts[::2] = [p.translate(_MIRROR_TABLE) for p in parts[::2]]
        text = "".join(parts)
    return (_brackets(text) if pdfium else text), n_r, n_l


_X0, _X1, _TEXT = operator.itemgetter(0), operator.itemgetter(1), operator.itemgetter(2)


def _brackets(text: str) -> str:
    """Each bracket as its place says: opening after a space, closing before one (or before
    punctuation). PDFium names the glyph drawn, pdfium or not as its own bidi pass judged,
    so at the edge of a Latin run inside Arabic either way can be wrong; a bracket its
    place does not settle (``f(x)``) keeps the reading above."""
    if not _BRACKET.search(text):
        return text
    out = list(text)
    for k, c in enumerate(out):
        if c not in _MIRROR:
            continue
        before = out[k - 1] if k else " "
        after = out[k + 1] if k + 1 < len(out) else " "
        opens = before.isspace() or before in _OPENING
        closes = after.isspace() or after in _CLOSING or after in ".,;:!?،؛؟"
        if opens != closes:
            is_open = c in _OPENING
            out[k] = c if is_open == opens else _MIRROR[c]
    return "".join(out)


def _block_text(block: Block, pdfium: bool) -> tuple[str, float, int, int]:
    """A text block's lines joined into one paragraph, its largest font size, and its
    counts of right-to-left and left-to-right units."""
    lines = []
    top = 0.0
    n_r = n_l = 0
    for chars, size in block["lines"]:
        top = max(top, size)
        text, r, l_ = _line(chars, size, pdfium)
        n_r, n_l = n_r + r, n_l + l_
        text = text.strip()
        if text:
            lines.append(text)
    para = ""
    for text in lines:
        para = _join(para, text)
    return " ".join(para.split()), top, n_r, n_l


def _join(para: str, text: str) -> str:
    """``text`` continuing ``para``: an English word hyphenated at the line end is mended."""
    if not para:
        return text
    return para[:-1] + text if para.endswith("-") and text[:1].islower() else f"{para} {text}"


def _reading_order(blocks: list[Block], width: float, rtl: bool) -> list[Block]:
    """Blocks column by column (right to left on an Arabic page), top to bottom inside a
    column; a block wider than 60% of the page ends the columns above it."""
    out: list[Block] = []
    band: list[Block] = []

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


def page_paragraphs(blocks: list[Block], width: float,
                    pdfium: bool = False) -> tuple[list[str], list[tuple[float, str]]]:
    """A page's paragraphs in reading order, and (font size, text) of each for the title.
    Any extractor's blocks will do; ``pdfium``: they are PDFium's (see ``_line``)."""
    texts = {id(b): _block_text(b, pdfium) for b in blocks}
    ordered = _reading_order(blocks, width, sum(t[2] for t in texts.values()) >= sum(t[3] for t in texts.values()))
    # Some producers (Chromium among them) make each line a block, and PDFium gives lines: a
    # block that continues the one above it in the same column, in the same type, with no
    # paragraph gap, is the same paragraph.
    merged: list[list[Any]] = []  # [text, size, bbox]
    for b in ordered:
        text, size, _, _ = texts[id(b)]
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


def _page_chars(textpage: Any, n: int) -> str:
    """The page's ``n`` characters, one per index (PDFium's own text view may differ)."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    buf = (ctypes.c_ushort * (n + 1))()
    got = pdfium_c.FPDFText_GetText(textpage, 0, n, buf)
    text = bytes(memoryview(buf).cast("B")[: 2 * max(got - 1, 0)]).decode("utf-16-le", "replace")
    if len(text) == n:
        return text
    # A character outside the BMP (a surrogate pair) or one PDFium leaves out: one by one.
    return "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i) or 0xFFFD) for i in range(n))


@functools.cache
def _loose_box() -> Any:
    """FPDFText_GetLooseCharBox(text page, index, FS_RECTF*) taking plain addresses, so that
    map() can call it for every character without a Python frame each."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    address = ctypes.cast(pdfium_c.FPDFText_GetLooseCharBox, ctypes.c_void_p).value
    assert address
    return ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)(address)


def _pdfium_blocks(textpage: Any, height: float) -> list[Block]:
    """PDFium's characters on one page → one block per line (y growing down the page).

    Lines are PDFium's (it breaks them where the text moves to another baseline), except
    that pieces of one line it gives apart (a producer that draws a line's words out of
    order) are joined again. Each character's box is its advance (PDFium's loose box:
    origin to origin + width, ascent to descent); where PDFium has no advance (text given
    as /ActualText, a glyph standing for several characters) it is the glyph's ink, split
    among the characters. Spaces PDFium makes up with no width are dropped (word gaps come
    back from the boxes); a lam-alef ligature's two halves become one "لا" box, whichever
    way PDFium split it."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    n = pdfium_c.FPDFText_CountChars(textpage)
    if n <= 0:
        return []
    text = _page_chars(textpage, n).translate(_PDFIUM_CHARS)
    # Every character's loose box in one pass: FPDFText_GetLooseCharBox called from map()
    # into one array (left, top, right, bottom per character) costs half a call per
    # character from a Python loop, which is most of the time PDFium's text takes here.
    rects = (ctypes.c_float * (4 * n))()
    at = ctypes.addressof(rects)
    page = ctypes.cast(textpage, ctypes.c_void_p).value
    if not all(map(_loose_box(), itertools.repeat(page, n), range(n), range(at, at + 16 * n, 16))):
        raise RuntimeError("PDFium gave no box for a character")
    flat = memoryview(rects).cast("B").cast("f").tolist()
    lefts, tops, rights, bottoms = flat[0::4], flat[1::4], flat[2::4], flat[3::4]
    lines: list[list[Any]] = []  # [chars, x0, x1, bottom, top, index of a letter to size]
    for m in _PDFIUM_LINE.finditer(text):
        start, end = m.span()
        letters = m.group()
        lft, rgt, bot, top = lefts[start:end], rights[start:end], bottoms[start:end], tops[start:end]
        piece: list[Box] = list(zip(lft, rgt, letters, bot, top, strict=True))
        # The line's extent (a made-up space lies inside it; a control character has no box).
        x0, x1, lo, hi = (min(lft), max(rgt), min(bot), max(top)) if "\0" not in letters else (0.0, 0.0, 0.0, 0.0)
        drop = [k for k in (d.start() for d in _PDFIUM_SPACE.finditer(letters))
                if letters[k] == "\0" or piece[k][1] - piece[k][0] <= _EPS]  # PDFium's made-up spaces: no width
        if drop:
            for k in reversed(drop):
                del piece[k]
            letters = "".join(map(_TEXT, piece))
            if not piece:
                continue
        if _LAM_ALEF.search(letters):
            piece = _lam_alef(piece, letters)
        if x1 == x0:
            xs0, xs1, _, bs, ts = zip(*piece, strict=True)
            x0, x1, lo, hi = min(xs0), max(xs1), min(bs), max(ts)
        prev = lines[-1] if lines else None
        if (prev and min(hi, prev[4]) - max(lo, prev[3]) > 0.5 * min(hi - lo, prev[4] - prev[3])
                and max(x0, prev[1]) - min(x1, prev[2]) < 0.8 * max(hi - lo, prev[4] - prev[3])):
            # The same baseline and no column gap between: the rest of the line above.
            prev[0] += piece
            prev[1:5] = min(x0, prev[1]), max(x1, prev[2]), min(lo, prev[3]), max(hi, prev[4])
            continue
        # The type size from the piece's first letter (PDFium's own spaces have no font).
        letter = _LETTER.search(text, start, end)
        lines.append([piece, x0, x1, lo, hi, letter.start() if letter else start])
    m_ = pdfium_c.FS_MATRIX()
    blocks: list[Block] = []
    for chars, x0, x1, lo, hi, i in lines:
        # The font size as drawn: the Tf size times the scale of the character's matrix.
        size = 0.0
        if pdfium_c.FPDFText_GetMatrix(textpage, i, m_):
            size = pdfium_c.FPDFText_GetFontSize(textpage, i) * abs(m_.a * m_.d - m_.b * m_.c) ** 0.5
        if not 0.3 * (hi - lo) < size < 3 * (hi - lo):  # no font there: from the line's height
            size = (hi - lo) / 1.2 or 10.0
        blocks.append({"bbox": (x0, height - hi, x1, height - lo), "lines": [(chars, size)]})
    return blocks


def _lam_alef(piece: list[Box], letters: str) -> list[Box]:
    """A line's characters (as in ``_pdfium_blocks``; ``letters`` their text) where a lam
    then an alef that PDFium split one glyph's box between (the halves touch and have the
    same height) become one "لا" box, so that no ordering of the halves can turn the
    ligature round."""
    out = list(piece)
    for m in reversed(list(_LAM_ALEF.finditer(letters))):
        k = m.start()
        lam, alef = piece[k], piece[k + 1]
        if (abs(lam[3] - alef[3]) < 0.01 and abs(lam[4] - alef[4]) < 0.01
                and (abs(lam[0] - alef[1]) < 0.01 or abs(lam[1] - alef[0]) < 0.01)):
            out[k:k + 2] = [(min(lam[0], alef[0]), max(lam[1], alef[1]), "ل" + alef[2], lam[3], lam[4])]
    return out


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


def _xmp_packet(raw: bytes) -> str:
    """The document's XMP metadata as text, else "". PDFium has no call for it: the packet
    is found in the file's bytes (where XMP writers leave it uncompressed, as the XMP spec
    asks, so that it can be found this way), else in a Flate-compressed ``/Subtype /XML``
    metadata stream. The last one in the file is the newest (incremental updates append)."""
    found = re.findall(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", raw, re.DOTALL)
    if not found:
        for m in re.finditer(rb"/Subtype\s*/XML\b", raw):
            head = raw.rfind(b"<<", max(0, m.start() - 512), m.start())
            body = raw.find(b"stream", m.end(), m.end() + 512)
            if head < 0 or body < 0 or b"/FlateDecode" not in raw[head:body]:
                continue
            body += 6 + (raw[body + 6:body + 8] == b"\r\n") + (raw[body + 6:body + 7] in (b"\r", b"\n"))
            end = raw.find(b"endstream", body)
            try:
                data = zlib.decompressobj().decompress(raw[body:end if end > 0 else None], 4 << 20)
            except zlib.error:
                continue
            found += re.findall(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", data, re.DOTALL)
    return found[-1].decode("utf-8", "replace") if found else ""


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


def _page_png(pdf: Any, index: int) -> bytes:
    """Page ``index`` rendered at 300 dpi, in grey, as PNG (call with the PDFium lock held)."""
    page = pdf[index]
    try:
        bitmap = page.render(scale=300 / 72, grayscale=True)
        image = bitmap.to_pil().copy()  # its own pixels: the bitmap is PDFium's, freed here
        bitmap.close()
    finally:
        page.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _ocr(pdf: Any, source: str) -> list[str]:
    """Each page rendered at 300 dpi and read by Debian's tesseract (the render holds the
    PDFium lock, tesseract does not)."""
    langs = _ocr_langs()
    if not langs:
        raise IngestError(f"{source}: no text layer, and tesseract has neither Arabic nor English data")
    pages = []
    for number in range(len(pdf)):
        with _PDFIUM:
            png = _page_png(pdf, number)
        try:
            run = subprocess.run(["tesseract", "stdin", "stdout", "-l", langs], input=png, capture_output=True,
                                 timeout=300)
        except (OSError, subprocess.SubprocessError) as e:
            raise IngestError(f"{source}: OCR failed on page {number + 1}: {e}") from e
        if run.returncode != 0:
            raise IngestError(f"{source}: OCR failed on page {number + 1}: "
                              f"{run.stderr.decode('utf-8', 'replace').strip()[-200:]}")
        text = run.stdout.decode("utf-8", "replace")
        pages.append("\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()))
    return pages


def _open_pdf(raw: bytes, source: str) -> Any:
    """A pypdfium2 document (call with the PDFium lock held), or IngestError naming the file."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    if b"%PDF-" not in raw[:1024]:  # the header may follow a little junk, as readers allow
        raise IngestError(f"{source}: not a PDF (no %PDF- header)")
    if b"%%EOF" not in raw[-4096:]:
        # A download cut short: what a repair would recover is part of the document.
        raise IngestError(f"{source}: the PDF is truncated (no end-of-file marker); nothing of it was stored")
    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as e:
        if e.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise IngestError(f"{source}: the PDF is encrypted (password protected); save an unprotected copy to "
                              "ingest it") from e
        if e.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise IngestError(f"{source}: the PDF is encrypted with a scheme PDFium does not support") from e
        raise IngestError(f"{source}: not a readable PDF ({e})") from e
    if len(pdf) == 0:
        pdf.close()
        raise IngestError(f"{source}: the PDF is damaged or truncated (no readable pages)")
    return pdf


def _read_pages(pdf: Any) -> list[tuple[list[str], list[tuple[float, str]]]]:
    """Every page's paragraphs (and sized paragraphs), with the PDFium lock held."""
    out = []
    for page in pdf:
        textpage = page.get_textpage()
        try:
            width, height = page.get_size()
            if page.get_rotation() in (90, 270):  # the characters' boxes are in the unrotated page
                width, height = height, width
            out.append(page_paragraphs(_pdfium_blocks(textpage.raw, height), width, pdfium=True))
        finally:
            textpage.close()
            page.close()
    return out


def from_pdf(raw: bytes, source: str) -> Iterator[Article | str]:
    """One Article per PDF file (pages joined, each page's start offset kept), then a note
    (str) when the text came from OCR. IngestError for encrypted, damaged, empty or
    image-only PDFs without OCR."""
    import pypdfium2.raw as pdfium_c

    with _PDFIUM:
        pdf = _open_pdf(raw, source)
    try:
        with _PDFIUM:
            repaired = not pdfium_c.FPDF_DocumentHasValidCrossReferenceTable(pdf.raw)
            try:
                extracted = _read_pages(pdf)
            except Exception as e:
                raise IngestError(f"{source}: the PDF is damaged or truncated ({e})") from e
            meta = pdf.get_metadata_dict()
        if repaired and not any(p for p, _ in extracted):
            raise IngestError(f"{source}: the PDF is damaged or truncated (no text could be read)")
        pages = [p for p, _ in extracted]
        ocr = False
        if not any(pages):
            if not shutil.which("tesseract"):
                raise IngestError(f"{source}: no text layer (a scanned or image-only PDF); install "
                                  "tesseract-ocr and tesseract-ocr-ara to OCR it")
            pages = [[p] if p else [] for p in _ocr(pdf, source)]
            ocr = True
        else:
            pages = _drop_furniture(pages)
    finally:
        with _PDFIUM:
            pdf.close()
    xml = _xmp_packet(raw)
    title = _clean_title(meta.get("Title") or "") or _clean_title(_xmp(xml, "dc:title"))
    if not title and not ocr and extracted:
        title = _first_heading(extracted[0][1])
    author = " ".join((meta.get("Author") or _xmp(xml, "dc:creator")).split())
    date = _pdf_date(meta.get("CreationDate") or "") or _pdf_date(_xmp(xml, "xmp:CreateDate"))
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
