"""A stored article's text, rebuilt from its chunks, and offsets mapped onto it.

Chunks overlap and skip what was not indexed (title, byline, boilerplate): the text is each
character once, in order, with a line break where a gap was; ``ArticleText.segments`` maps
the original document's offsets (quotes, citations) onto it. Pure; the caller reads the chunks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rag.types import ArticleText, Chunk, Document


def rebuild(document: Document, chunks: Iterable[Chunk]) -> ArticleText:
    parts: list[str] = []
    segments: list[tuple[int, int, int]] = []
    length = 0
    end = 0
    for c in sorted(chunks, key=lambda c: c.start):
        if c.end <= end:
            continue
        if c.start > end and parts:
            parts.append("\n")  # an unindexed gap (blank lines, boilerplate)
            length += 1
        begin = max(c.start, end)
        piece = c.text[begin - c.start:]
        segments.append((begin, length, len(piece)))
        parts.append(piece)
        length += len(piece)
        end = c.end
    return ArticleText(document, "".join(parts), tuple(segments))


def article_offset(article: ArticleText | dict[str, Any], offset: int) -> int | None:
    """Map an offset into the original document onto the article's text (None when it
    falls in a part that was not indexed)."""
    if isinstance(article, ArticleText):
        return article.offset(offset)
    for orig, at, n in article.get("segments", []):
        if orig <= offset <= orig + n:
            return int(at + offset - orig)
    return None
