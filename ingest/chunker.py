"""Sentence-aware chunking with exact offsets.

Chunks are runs of whole sentences inside one body segment of an article, at most
``max_tokens`` tokens of the embedding model each (counted by the caller's tokenizer, so
the limit is the model's own). A sentence longer than the limit is cut at word
boundaries, never inside a word. Invariant: ``chunk.text == article.text[chunk.start:chunk.end]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ingest.article import Article
from rag.text import sentence_spans, word_spans
from rag.types import Chunk

TokenCounter = Callable[[str], int]


def chunk_article(article: Article, count_tokens: TokenCounter, max_tokens: int) -> list[Chunk]:
    text = article.text
    known: dict[str, int] = {}

    def count(s: str) -> int:  # a sentence is counted once, by _units and again by _pack
        if s not in known:
            known[s] = count_tokens(s)
        return known[s]

    spans: list[tuple[int, int]] = []
    for seg_start, seg_end in article.segments:
        spans.extend(_pack(text, list(_units(text, seg_start, seg_end, count, max_tokens)), count, max_tokens))
    return [
        Chunk(
            chunk_id=f"{article.doc_id}-{article.content_hash[:12]}-{i:04d}",
            doc_id=article.doc_id,
            text=text[a:b],
            index=i,
            start=a,
            end=b,
            title=article.title,
            byline=article.byline,
            source_path=article.source_path,
            content_hash=article.content_hash,
            date=article.date,
            site=article.site,
            url=article.url,
            language=article.language,
            pages=",".join(map(str, article.pages)),
        )
        for i, (a, b) in enumerate(spans)
    ]


def _units(text: str, start: int, end: int, count: TokenCounter, limit: int) -> Iterator[tuple[int, int]]:
    """Sentences, with any sentence over the limit cut into word-boundary pieces."""
    for a, b in sentence_spans(text, start, end):
        if count(text[a:b]) <= limit:
            yield (a, b)
            continue
        piece_start = None
        piece_end = a
        for wa, wb in word_spans(text, a, b):
            if piece_start is None:
                piece_start = wa
            elif count(text[piece_start:wb]) > limit:
                yield (piece_start, piece_end)
                piece_start = wa
            piece_end = wb
        if piece_start is not None:
            yield (piece_start, piece_end)


def _pack(text: str, units: list[tuple[int, int]], count: TokenCounter, limit: int) -> list[tuple[int, int]]:
    """Greedily join consecutive units while the joined span stays within the limit.

    The sum of the units' own counts decides when it is within the limit: each unit's
    count carries the model's prompt and special tokens, so the sum over-counts a join
    (words never merge into one token across the whitespace between sentences). Only a
    sum over the limit costs an exact count of the join; re-counting every growing join was
    a tenth of ingest time."""
    out: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    cur_sum = 0
    for a, b in units:
        n = count(text[a:b])
        if cur is None:
            cur, cur_sum = (a, b), n
        elif cur_sum + n <= limit or count(text[cur[0]:b]) <= limit:
            cur, cur_sum = (cur[0], b), cur_sum + n
        else:
            out.append(cur)
            cur, cur_sum = (a, b), n
    if cur is not None:
        out.append(cur)
    return out
