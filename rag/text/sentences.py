"""Sentences, clauses and words of Arabic and English text, as offsets into the original
string (so callers can always cite the exact characters an article contained), and the
normalisation applied to what is embedded. Nothing is written back over the original.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from rag.text.arabic import strip_diacritics

_WS = re.compile(r"\s+")

# Sentence ends: . ! ? and Arabic ؟ ؛ (plus the ellipsis), optionally followed by closing
# quotes/brackets; newlines always end a sentence.
_SENT_END = re.compile(r"[.!?\u061f\u061b\u2026]+[\"'\u00bb\u201d\u2019)\]]*(?=\s|$)|\n+")



def normalize_for_embedding(text: str) -> str:
    """What the embedding model sees: NFKC (Arabic presentation forms → letters),
    diacritics and tatweel out, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    return _WS.sub(" ", strip_diacritics(text)).strip()


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
