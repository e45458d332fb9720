"""Citation markers: parse ``[n]`` (also ``[1, 2]``, ``[1][2]``, ``[١]``), drop markers that
point at no source, build ``Citation`` objects.

Pure functions over strings and ``Source`` objects; no model calls. Citations a caller
attributes itself (the model wrote no marker) are flagged ``Citation.attributed``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.text import EASTERN_DIGITS
from rag.types import Citation, SentenceSupport, Source, page_at

_MARKER = re.compile(r"\[\s*([0-9٠-٩]+(?:\s*[,،;]\s*[0-9٠-٩]+)*)\s*\]")

@dataclass(frozen=True)
class ParsedCitations:
    text: str  # with invalid markers removed
    numbers: tuple[int, ...]  # valid source numbers, in order of first use
    invalid: tuple[str, ...]  # the markers removed


def parse_markers(text: str, n_sources: int) -> ParsedCitations:
    used: list[int] = []
    invalid: list[str] = []

    def fix(m: re.Match[str]) -> str:
        nums = [int(x) for x in re.split(r"\s*[,،;]\s*", m.group(1).translate(EASTERN_DIGITS))]
        good = [n for n in nums if 1 <= n <= n_sources]
        if len(good) != len(nums):
            invalid.append(m.group(0))
        for n in good:
            if n not in used:
                used.append(n)
        return "".join(f"[{n}]" for n in good)

    cleaned = _MARKER.sub(fix, text)
    # "held. [1]" → "held [1]." so a marker stays inside the sentence it cites.
    cleaned = re.sub(r"([.!?؟])[ \t]*((?:\[\d+\])+)", r" \2\1", cleaned)
    cleaned = re.sub(r"[ \t]+([.،,؟?!])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return ParsedCitations(cleaned, tuple(used), tuple(invalid))


def build_citations(numbers: Sequence[int], sources: Sequence[Source], attributed: bool,
                    sentences: Sequence[SentenceSupport] = ()) -> tuple[Citation, ...]:
    """Citations for ``numbers``; each quotes the source sentence that best supports the
    answer (by the support check), else the first sentence the model was shown."""
    by_number = {s.number: s for s in sources}
    best: dict[int, SentenceSupport] = {}
    for s in sentences:
        if s.best_source and (s.best_source not in best or s.score > best[s.best_source].score):
            best[s.best_source] = s
    out = []
    for n in numbers:
        src = by_number.get(n)
        if src is None:
            continue
        if n in best:
            quote, qs, qe = best[n].quote, best[n].quote_start, best[n].quote_end
        else:
            qs, qe = src.spans[0] if src.spans else (0, 0)
            quote = src.excerpt.split(" … ")[0]
        out.append(Citation(number=n, doc_id=src.doc_id, title=src.title, source_path=src.source_path, quote=quote,
                            attributed=attributed, quote_start=qs, quote_end=qe, byline=src.byline, date=src.date,
                            site=src.site, url=src.url, page=page_at(src.pages, qs)))
    return tuple(out)
