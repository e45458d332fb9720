"""Parse a plain-text news article in the seed layout into an ``Article``.

Layout: the title on the first line, an optional byline (``كتب- …``, ``By …``), body
paragraphs, and mixed into the body headlines of other stories and a "اقرأ أيضاً"/"Read
also" list, which are not part of the article. The original text is kept untouched; the
article body is a list of (start, end) spans into it, so every chunk and quote can be
cited by offsets into what the file really said.

This module reads no files and touches no store; ``ingest.pipeline`` does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from rag.errors import IngestError
from rag.text import detect_language

_BYLINE = re.compile(r"^\s*(?:كتب|كتبت|كتبه|بقلم|تقرير|By|Written by)\s*[-–—:]?\s*", re.IGNORECASE | re.MULTILINE)
# Reporting verbs that typically open the first sentence; scraped pages often glue that
# sentence to the byline ("كتب- فلان الفلانيأعلنت موسكو…"), so they mark where it starts.
_LEAD_VERB = re.compile(
    r"(?:أعلن|أعلنت|قال|قالت|أكد|أكدت|كشف|كشفت|ذكر|ذكرت|أفاد|أفادت|شدد|شددت|أشار|أشارت|"
    r"نفى|نفت|دعا|دعت|أعرب|أعربت|يواصل|تواصل|وصل|وصلت|استقبل|استقبلت)"
)
_READ_ALSO = re.compile(
    r"^\s*(?:اقرأ|إقرأ|اقرا|إقرا)\s+(?:أيضا|أيضاً|أيضًا|ايضا|ايضاً)|^\s*(?:read (?:also|more)|see also|related"
    r"(?: articles| stories| news)?)\s*:?\s*$",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"^\s*(?:[-–—•*·▪]|\d+[.)])\s+")
_ENDS_SENTENCE = re.compile(r"[.!?\u061f\u061b\u2026:\"'\u00bb\u201d)]\s*$")
_HEADLINE_MAX_WORDS = 16


@dataclass(frozen=True)
class Article:
    doc_id: str
    text: str  # the original text, exactly as decoded
    title: str
    byline: str
    source_path: str
    content_hash: str
    language: str
    # (start, end) spans of ``text`` that are the article body, in order; noise excluded.
    segments: tuple[tuple[int, int], ...] = field(default=())

    def body(self) -> str:
        return "\n".join(self.text[a:b] for a, b in self.segments)


def doc_id_for(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def content_hash(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, newline excluded."""
    spans, pos = [], 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        spans.append((pos, pos + len(body)))
        pos += len(line)
    return spans


def parse_article(text: str, source: str, digest: str | None = None) -> Article:
    """Split ``text`` into title, byline and body spans; raise IngestError if it has no body."""
    lines = [(a, b) for a, b in _lines(text) if text[a:b].strip()]
    if not lines:
        raise IngestError(f"{source}: the file is empty")
    ta, tb = lines[0]
    title = text[ta:tb].strip()
    body_lines = lines[1:]
    byline = ""
    if body_lines:
        a, b = body_lines[0]
        m = _BYLINE.match(text, a, b)
        if m:
            rest_start = m.end()
            verb = _LEAD_VERB.search(text, rest_start, b)
            words_before = len(text[rest_start : verb.start()].split()) if verb else 0
            if verb and 0 < words_before <= 6 and verb.start() > rest_start:
                byline = text[rest_start : verb.start()].strip()
                body_lines[0] = (verb.start(), b)
            elif len(text[rest_start:b].split()) <= 6:
                byline = text[rest_start:b].strip()
                body_lines = body_lines[1:]
    kept: list[tuple[int, int]] = []
    in_read_also = False
    for a, b in body_lines:
        line = text[a:b]
        if _READ_ALSO.search(line):
            in_read_also = True
            continue
        if in_read_also and (_LIST_ITEM.match(line) or _is_headline(line)):
            continue
        in_read_also = False
        if _is_headline(line) or (_LIST_ITEM.match(line) and len(line.split()) <= _HEADLINE_MAX_WORDS):
            continue
        a += len(line) - len(line.lstrip())
        b -= len(line) - len(line.rstrip())
        kept.append((a, b))
    if not kept:
        raise IngestError(f"{source}: no article text found (only a title, byline or link lists)")
    segments = _merge_adjacent(text, kept)
    return Article(
        doc_id=doc_id_for(source),
        text=text,
        title=title,
        byline=byline,
        source_path=source,
        content_hash=digest or content_hash(text),
        language=detect_language(" ".join(text[a:b] for a, b in segments)),
        segments=tuple(segments),
    )


def _is_headline(line: str) -> bool:
    """A short line that does not end like a sentence: a link to another story."""
    return len(line.split()) <= _HEADLINE_MAX_WORDS and not _ENDS_SENTENCE.search(line)


def _merge_adjacent(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join body lines separated only by whitespace, so chunks can run across paragraphs
    but never across a removed headline."""
    merged = [spans[0]]
    for a, b in spans[1:]:
        pa, pb = merged[-1]
        if not text[pb:a].strip():
            merged[-1] = (pa, b)
        else:
            merged.append((a, b))
    return merged
