"""``Article``: one news article as Akhbar stores it, and parsing of the plain-text layout.

The plain-text layout (the seed article's): the title on the first line, an optional
byline (``كتب- …``, ``By …``), body paragraphs, and mixed into the body headlines of other
stories and a "اقرأ أيضاً"/"Read also" list, which are not part of the article. The
original text is kept untouched; the body is a list of (start, end) spans into it, so
every chunk and quote can be cited by offsets into what the source really said.

This module reads no files and touches no store; ``ingest.formats`` reads, ``ingest.pipeline`` writes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace

from ingest.clean import body_spans, line_spans
from rag.errors import IngestError
from rag.text import detect_language, normalize_for_embedding

_BYLINE = re.compile(r"^\s*(?:كتب|كتبت|كتبه|بقلم|تقرير|By|Written by)\s*[-–—:]?\s*", re.IGNORECASE | re.MULTILINE)
# Reporting verbs that typically open the first sentence; scraped pages often glue that
# sentence to the byline ("كتب- فلان الفلانيأعلنت موسكو…"), so they mark where it starts.
_LEAD_VERB = re.compile(
    r"(?:أعلن|أعلنت|قال|قالت|أكد|أكدت|كشف|كشفت|ذكر|ذكرت|أفاد|أفادت|شدد|شددت|أشار|أشارت|"
    r"نفى|نفت|دعا|دعت|أعرب|أعربت|يواصل|تواصل|وصل|وصلت|استقبل|استقبلت)"
)


@dataclass(frozen=True)
class Article:
    doc_id: str
    text: str  # the original text (for HTML/JSON/feeds: the extracted article text)
    title: str
    byline: str
    source_path: str  # file path, "archive.zip!member", "file.jsonl#3" or URL
    content_hash: str
    language: str
    # (start, end) spans of ``text`` that are the article body, in order; noise excluded.
    segments: tuple[tuple[int, int], ...] = field(default=())
    date: str = ""  # ISO 8601 or ""
    site: str = ""
    url: str = ""
    # Paged sources (PDF): the offset in ``text`` where each page starts, page 1 first.
    pages: tuple[int, ...] = ()

    def body(self) -> str:
        return "\n".join(self.text[a:b] for a, b in self.segments)

    def with_doc_id(self, doc_id: str) -> Article:
        return replace(self, doc_id=doc_id)


def doc_id_for(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def content_hash(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def body_hash(text: str) -> str:
    """Hash of the normalised body: the same story re-saved with other bytes (encoding,
    whitespace, diacritics) is an exact duplicate."""
    return content_hash(normalize_for_embedding(text))


def parse_article(text: str, source: str, digest: str | None = None) -> Article:
    """Split plain text into title, byline and body spans; IngestError if it has no body."""
    lines = [(a, b) for a, b in line_spans(text) if text[a:b].strip()]
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
    segments = body_spans(text, body_lines)
    if not segments:
        raise IngestError(f"{source}: no article text found (only a title, byline or link lists)")
    return build_article(text, source, title, byline, segments, digest=digest)


def parse_extracted(text: str, source: str, title: str, byline: str = "", date: str = "", site: str = "",
                    url: str = "", digest: str | None = None) -> Article:
    """An article whose body was already extracted (HTML, JSON, feeds): only boilerplate
    lines are dropped; short lines are kept as possible subheadings."""
    lines = line_spans(text)
    # Extractors often repeat the headline as the first body line.
    first = next(((a, b) for a, b in lines if text[a:b].strip()), None)
    if first and title and normalize_for_embedding(text[first[0]:first[1]]) == normalize_for_embedding(title):
        lines = [s for s in lines if s != first]
    segments = body_spans(text, lines, drop_headlines=False)
    if not segments:
        raise IngestError(f"{source}: no article text found")
    if not title:
        lead = text[segments[0][0]:segments[0][1]]
        title = lead[:120].rsplit(" ", 1)[0] if len(lead) > 120 else lead
    return build_article(text, source, title.strip(), byline.strip(), segments, digest=digest, date=date,
                         site=site, url=url)


def build_article(text: str, source: str, title: str, byline: str, segments: list[tuple[int, int]],
                  digest: str | None = None, date: str = "", site: str = "", url: str = "") -> Article:
    return Article(
        doc_id=doc_id_for(source),
        text=text,
        title=title,
        byline=byline,
        source_path=source,
        content_hash=digest or content_hash(text),
        language=detect_language(" ".join(text[a:b] for a, b in segments)),
        segments=tuple(segments),
        date=date,
        site=site,
        url=url,
    )
