"""The small frozen result types that cross Akhbar's public API.

``Chunk`` is what ingest stores, ``Hit`` what retrieval returns, ``Source`` one numbered
article shown to the model, ``Citation`` a source the answer cites, ``Answer`` the whole
reply. Each has ``to_dict()`` giving JSON-ready data; ``Answer.export`` hands that to
``rag.export``. No other behaviour lives here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from rag.export import render
from rag.types.library import SourceRef


def page_at(pages: str, offset: int) -> int:
    """The 1-based page holding character ``offset`` of a paged document (``Chunk.pages``),
    or 0 when the document has no pages."""
    if not pages:
        return 0
    starts = [int(p) for p in pages.split(",") if p.strip().isdigit()]
    if not starts:
        return 0
    return max(1, sum(1 for s in starts if s <= offset))


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
    # Paged sources (PDF): where each page starts in the document text, "0,1830,3650"
    # (a string so the store keeps it as one metadata value); "" when unpaged.
    pages: str = ""

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
    # The other papers and dates that carried the same story (copies merged at ingest).
    also: tuple[SourceRef, ...] = ()
    pages: str = ""  # page starts of a paged document (``Chunk.pages``)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["chunk_ids"] = list(self.chunk_ids)
        d["spans"] = [list(s) for s in self.spans]
        d["also"] = [a.to_dict() for a in self.also]
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
    # The other papers and dates that carried the same story (copies merged at ingest).
    also: tuple[SourceRef, ...] = ()
    page: int = 0  # the page of ``quote`` in a paged document (PDF), 1-based; 0 when unpaged

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["also"] = [a.to_dict() for a in self.also]
        return d


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


class RefusalReason(StrEnum):
    """Why an answer was withheld."""

    EMPTY_CORPUS = "empty_corpus"  # nothing ingested
    NO_SOURCES = "no_sources"  # the filters matched nothing
    FLOOR = "floor"  # no retrieved sentence is near the question
    NO_SPAN = "no_span"  # the copy found no answer of the question's type
    ECHO = "echo"  # the only span restates the question
    LOW_CONFIDENCE = "low_confidence"  # the span's own probability is below answer.min_span_logprob
    UNVERIFIED = "unverified"  # asked whether the text gives the span, the model leaned to no
    UNSUPPORTED = "unsupported"  # no sentence of a free reply is backed by the sources
    MODEL = "model"  # the model said the sources lack it
    UNSURE = "unsure"  # the span passed every check, but its confidence is below answer.min_confidence


REFUSAL_REASONS = tuple(r.value for r in RefusalReason)


class ReaderKind(StrEnum):
    """How an answer was read: a copied span, free generation, or not at all."""

    EXTRACTIVE = "extractive"
    GENERATIVE = "generative"
    ARCHIVE = "archive"  # a question about the coverage, answered from the archive's own records
    NONE = ""


class AnswerKind(StrEnum):
    """What the reply is: a short answer, the closest passages (the sources hold something,
    but no answer is sure), or a refusal (nothing relevant was retrieved)."""

    ANSWER = "answer"
    PASSAGES = "passages"
    REFUSAL = "refusal"


@dataclass(frozen=True)
class Diagnostics:
    """How an answer came about, for people checking it and for ``akhbar eval``/``calibrate``.
    ``None`` means the stage that sets a field did not run."""

    reason: str = ""  # why it was refused, in words for people
    question_type: str | None = None  # the reader's question type (``rag.reader.question_type``)
    span: str | None = None  # the copied span, as in the evidence
    span_rendered: str | None = None  # its English rendering, when one was given
    span_logprob: float | None = None  # mean log-probability of the span's tokens
    none_logprob: float | None = None  # log-probability of the refusal word at the span's start
    first_logprob: float | None = None  # log-probability of the span's first token
    verify_margin: float | None = None  # log P(yes) - log P(no) of the verification question
    closest_similarity: float | None = None  # cosine of the evidence sentence nearest the question
    cross_language: bool | None = None  # that sentence is in another language than the question
    corrected_citations: int | None = None  # markers re-pointed to the source that supports them
    unsupported_answer: str | None = None  # a free reply withheld because nothing backs it
    attributed: bool = False  # the model wrote no marker; the support check chose the sources
    repaired: str | None = None  # a bare-marker reply answered again with one more turn
    fallback: str | None = None  # why another backend answered
    language_mismatch: str | None = None  # the reply's language, when not the question's
    undated_documents: int | None = None  # documents a date filter could not see
    standalone: str | None = None  # a conversation turn: asked, rewritten or context
    standalone_question: str | None = None  # the question retrieval saw, when rewritten
    pending_vectors: int | None = None  # chunks searched by BM25 only: their vectors were still to come
    # What the confidence model read about a copied span (``rag.answer.decide.FEATURES``).
    features: dict[str, float] | None = None
    # The candidate spans the ranker weighed, best first (``rag.answer.rank.Candidate.to_dict``).
    candidates: tuple[dict[str, Any], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items()
                if v is not None and not (k == "reason" and not v) and not (k == "attributed" and not v)}


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
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    asked_at: str = ""  # ISO 8601 UTC time of the answer (the "accessed" date of its citations)
    refusal_reason: RefusalReason | None = None  # None when answered
    reader: ReaderKind = ReaderKind.NONE
    # What the reader should know about how it was answered, e.g. that a date filter
    # could not see the documents without a date. In the question's language.
    notes: tuple[str, ...] = ()
    # The date window a time expression in the question set ("أمس" → since/until), or
    # None: ``rag.when.Window.to_dict()`` (since, until, text, start, end).
    window: dict[str, Any] | None = None
    # A short answer, the closest passages, or a refusal; ``refused`` is True for the last two.
    kind: AnswerKind = AnswerKind.ANSWER
    # P(right) of a copied answer from the fitted confidence model; None when not estimated
    # (a free reply, a coverage listing, a refusal before reading, no model fitted).
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "language": self.language,
            "kind": self.kind.value,
            "confidence": round(self.confidence, 4) if self.confidence is not None else None,
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
            "refusal_reason": self.refusal_reason.value if self.refusal_reason else "",
            "reader": self.reader.value,
            "sentences": [s.to_dict() for s in self.sentences],
            "asked_at": self.asked_at,
            "notes": list(self.notes),
            **({"window": self.window} if self.window else {}),
            **({"diagnostics": d} if (d := self.diagnostics.to_dict()) else {}),
        }

    def export(self, fmt: str) -> str:
        """This answer's citations as ``csl-json``, ``bibtex``, ``ris``, ``csv``, ``markdown``
        (the answer with footnotes) or ``json`` (the whole Answer)."""
        return render([self.to_dict()], fmt)

