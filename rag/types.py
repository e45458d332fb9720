"""The small frozen result types that cross Akhbar's public API.

``Chunk`` is what ingest stores, ``Hit`` what retrieval returns, ``Source`` one numbered
article shown to the model, ``Citation`` a source the answer cites, ``Answer`` the whole
reply. Each has ``to_dict()`` giving JSON-ready data; ``Answer.export`` hands that to
``rag.export``. No other behaviour lives here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    text: str
    index: int
    start: int  # character offsets into the original document text
    end: int
    title: str = ""
    byline: str = ""
    source_path: str = ""
    content_hash: str = ""  # of the whole document, so a changed file is detected
    date: str = ""  # ISO 8601 publication date, or ""
    site: str = ""
    url: str = ""
    language: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # cosine similarity, higher is better

    def to_dict(self) -> dict[str, Any]:
        return {"chunk": self.chunk.to_dict(), "score": self.score}


@dataclass(frozen=True)
class Source:
    """One article as numbered in the prompt: ``[number]``."""

    number: int
    doc_id: str
    title: str
    byline: str
    source_path: str
    excerpt: str  # the sentences the model was shown
    score: float
    chunk_ids: tuple[str, ...] = ()
    # (start, end) character offsets of the excerpt sentences in the original article.
    spans: tuple[tuple[int, int], ...] = ()
    date: str = ""
    site: str = ""
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["chunk_ids"] = list(self.chunk_ids)
        d["spans"] = [list(s) for s in self.spans]
        return d


@dataclass(frozen=True)
class Citation:
    number: int
    doc_id: str
    title: str
    source_path: str
    quote: str  # the best supporting sentence of this source (else the excerpt shown)
    # True when the model wrote no marker for this source and Akhbar attributed it.
    attributed: bool = False
    quote_start: int = 0  # offsets of ``quote`` in the original article text
    quote_end: int = 0
    byline: str = ""
    date: str = ""
    site: str = ""
    url: str = ""
    # The answer span copied from ``quote`` (extractive answers), as offsets in the original
    # article text; 0, 0 when the answer was written freely.
    span_start: int = 0
    span_end: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SentenceSupport:
    """One sentence of an answer, checked against the sources the model was shown."""

    text: str
    cited: tuple[int, ...]  # markers the model put on this sentence
    supported: bool
    best_source: int  # the [n] of the closest source sentence (0 if none)
    score: float  # cosine with that sentence
    quote: str  # that source sentence
    quote_start: int  # its offsets in the original article
    quote_end: int
    supported_by: tuple[int, ...] = ()  # every source that supports the sentence on its own

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cited"] = list(self.cited)
        d["supported_by"] = list(self.supported_by)
        return d


# empty_corpus: nothing ingested; no_sources: filters matched nothing; floor: no retrieved
# sentence is near the question; no_span: the copy constraint found no answer of the
# question's type; echo: the only span restates the question; low_confidence: the model's
# own probability of the span is below answer.min_span_logprob; unsupported: no sentence
# of a free reply is backed by the sources; model: the model said the sources lack it.
REFUSAL_REASONS = ("empty_corpus", "no_sources", "floor", "no_span", "echo", "low_confidence", "unsupported",
                   "model")


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    language: str
    citations: tuple[Citation, ...] = ()
    sources: tuple[Source, ...] = ()
    # Markers like [7] that pointed at no source; removed from ``text``.
    invalid_markers: tuple[str, ...] = ()
    backend: str = ""
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retrieval_ms: float = 0.0
    first_token_s: float = 0.0
    total_s: float = 0.0
    refused: bool = False
    # Per answer sentence: cited sources, whether the sources support it, best quote.
    sentences: tuple[SentenceSupport, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    asked_at: str = ""  # ISO 8601 UTC time of the answer (the "accessed" date of its citations)
    # Why it was refused (one of REFUSAL_REASONS), "" when answered; words for people are
    # in ``extra["reason"]``.
    refusal_reason: str = ""
    # How it was read: "extractive" (a copied span) or "generative".
    reader: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "language": self.language,
            "citations": [c.to_dict() for c in self.citations],
            "sources": [s.to_dict() for s in self.sources],
            "invalid_markers": list(self.invalid_markers),
            "backend": self.backend,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "retrieval_ms": round(self.retrieval_ms, 2),
            "first_token_s": round(self.first_token_s, 3),
            "total_s": round(self.total_s, 3),
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "reader": self.reader,
            "sentences": [s.to_dict() for s in self.sentences],
            "asked_at": self.asked_at,
            **({"extra": self.extra} if self.extra else {}),
        }

    def export(self, fmt: str) -> str:
        """This answer's citations as ``csl-json``, ``bibtex``, ``ris``, ``csv``, ``markdown``
        (the answer with footnotes) or ``json`` (the whole Answer)."""
        from rag.export import render

        return render([self.to_dict()], fmt)
