"""Text primitives for Arabic and English: normalisation for indexing, language guess,
sentence spans.

Everything here is pure and works on offsets into the *original* text, so callers can
always cite the exact characters an article contained. Normalisation is only for what is
embedded or matched; it is never written back over the original.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

# Harakat, tanween, shadda, sukun, superscript alef, Quranic annotation marks.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
_ARABIC_LETTER = re.compile(
    "[\u0621-\u064a\u0660-\u0669\u066e-\u06d3\u06fa-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefc]"
)
_LATIN_LETTER = re.compile("[A-Za-z]")
_WS = re.compile(r"\s+")

# Sentence ends: . ! ? and Arabic ؟ ؛ (plus the ellipsis), optionally followed by closing
# quotes/brackets; newlines always end a sentence.
_SENT_END = re.compile(r"[.!?\u061f\u061b\u2026]+[\"'\u00bb\u201d\u2019)\]]*(?=\s|$)|\n+")


# Alef/yaa/taa-marbuta variants, so one word spelled two ways matches (not written back).
AR_UNIFY = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
# Arabic-Indic and Persian digits to ASCII.
EASTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Clitics written onto an Arabic word (conjunction, preposition, article), longest first.
CLITICS = ("وال", "بال", "كال", "فال", "لل", "ال", "و", "ب", "ل", "ف")

# Arabic month names, folded (``fold``), to their number: one table for reading time words in
# a question (rag.when), telling a date in an answer (rag.reader) and drawing dates as training
# answers (rag.teach). The Gregorian months in the Egyptian/Gulf series with the spellings the
# papers use ("يونيه", "ماي", "غشت") and in the Levantine series, where "آب" (August) is also the
# word "father": only a date construct makes it a month. The Hijri months, which Saudi news
# dates by beside the Gregorian; they are not converted to Gregorian dates.
_GREGORIAN = {
    "يناير": 1, "فبراير": 2, "مارس": 3, "أبريل": 4, "إبريل": 4, "مايو": 5, "ماي": 5, "يونيو": 6, "يونيه": 6,
    "يوليو": 7, "يوليه": 7, "أغسطس": 8, "غشت": 8, "سبتمبر": 9, "أكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
    "كانون الثاني": 1, "شباط": 2, "آذار": 3, "نيسان": 4, "أيار": 5, "حزيران": 6, "تموز": 7, "آب": 8,
    "أيلول": 9, "تشرين الأول": 10, "تشرين الثاني": 11, "كانون الأول": 12,
}
_HIJRI = {
    "محرم": 1, "صفر": 2, "ربيع الأول": 3, "ربيع الثاني": 4, "ربيع الآخر": 4, "جمادى الأولى": 5,
    "جمادى الآخرة": 6, "جمادى الثانية": 6, "رجب": 7, "شعبان": 8, "رمضان": 9, "شوال": 10,
    "ذو القعدة": 11, "ذي القعدة": 11, "ذو الحجة": 12, "ذي الحجة": 12,
}


def _fold_table(table: dict[str, int]) -> dict[str, int]:
    return {fold(name): number for name, number in table.items()}


def spelled_pattern(folded: Iterable[str]) -> str:
    """A regex alternation matching folded words as they are written in unfolded text (each
    alef in any of its hamza forms, ي also ى, ه also ة), longest first so a two-word name
    wins over its first word."""
    forms = {"ا": "[اأإآٱ]", "ي": "[يى]", "ه": "[هة]", " ": r"\s+"}
    spelled = ("".join(forms.get(c, re.escape(c)) for c in w)
               for w in sorted(set(folded), key=len, reverse=True))
    return "(?:" + "|".join(spelled) + ")"


def fold(text: str) -> str:
    """For matching, never for display: diacritics out, alef/yaa/taa-marbuta unified, lower case."""
    return strip_diacritics(text).translate(AR_UNIFY).lower()


def strip_clitic(word: str, keep: int = 3) -> str:
    """``word`` without its first clitic, if at least ``keep`` letters remain
    ("وروسيا" → "روسيا", "بالجيش" → "جيش")."""
    for prefix in CLITICS:
        if len(word) >= len(prefix) + keep and word.startswith(prefix):
            return word[len(prefix):]
    return word


def strip_diacritics(text: str) -> str:
    """Remove Arabic diacritics and tatweel; everything else is left as it is."""
    return _DIACRITICS.sub("", text).replace(_TATWEEL, "")


GREGORIAN_MONTHS = _fold_table(_GREGORIAN)
HIJRI_MONTHS = _fold_table(_HIJRI)


def normalize_for_embedding(text: str) -> str:
    """What the embedding model sees: NFKC (Arabic presentation forms → letters),
    diacritics and tatweel out, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    return _WS.sub(" ", strip_diacritics(text)).strip()


def detect_language(text: str) -> str:
    """'ar' when Arabic letters dominate, 'en' for Latin script, else 'other'."""
    ar = len(_ARABIC_LETTER.findall(text))
    la = len(_LATIN_LETTER.findall(text))
    if ar == 0 and la == 0:
        return "other"
    return "ar" if ar >= la else "en"


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Yield (start, end) offsets of the sentences in ``text[start:end]``, whitespace
    trimmed, never splitting inside a word; offsets index the original string."""
    end = len(text) if end is None else end
    pos = start
    for m in _SENT_END.finditer(text, start, end):
        cut = m.end() if m.group().strip() else m.start()
        yield from _trimmed(text, pos, cut)
        pos = m.end()
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, a: int, b: int) -> Iterator[tuple[int, int]]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a:
        yield (a, b)


def word_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    for m in re.finditer(r"\S+", text[start:end]):
        yield (start + m.start(), start + m.end())


_CLAUSE_END = re.compile(r"[،,؛;:](?=\s)")


def clause_spans(text: str, start: int, end: int, max_words: int) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` (one sentence) in pieces of at most ``max_words`` words: cut at
    clause punctuation (، , ؛ ; :) where it can be, else between words. Long news sentences
    hold several facts; a reader shown the piece with the answer reads fewer tokens."""
    words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    if len(words) <= max_words:
        yield from _trimmed(text, start, end)
        return
    piece_start = 0  # index into words
    last_clause = -1  # index of a word that ends a clause within the current piece
    for i, (a, b) in enumerate(words):
        if i - piece_start + 1 > max_words:
            cut = last_clause if last_clause >= piece_start else i - 1
            yield from _trimmed(text, start + words[piece_start][0], start + words[cut][1])
            piece_start, last_clause = cut + 1, -1
        if _CLAUSE_END.search(text[start + a:start + b] + " "):
            last_clause = i
    if piece_start < len(words):
        yield from _trimmed(text, start + words[piece_start][0], start + words[-1][1])
