"""The small frozen result types that cross Akhbar's public API.

``Chunk`` is what ingest stores, ``Hit`` what retrieval returns, ``Source`` one numbered
article shown to the model, ``Citation`` a source the answer cites, ``Answer`` the whole
reply. Each has ``to_dict()`` giving JSON-ready data; ``Answer.export`` hands that to
``rag.export``. No other behaviour lives here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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


# empty_corpus: nothing ingested; no_sources: filters matched nothing; floor: no retrieved
# sentence is near the question; no_span: the copy constraint found no answer of the
# question's type; echo: the only span restates the question; low_confidence: the model's
# own probability of the span is below answer.min_span_logprob; unverified: asked whether
# the text gives the span as the answer, the model leaned to no (answer.min_verify_margin);
# unsupported: no sentence
# of a free reply is backed by the sources; model: the model said the sources lack it.
REFUSAL_REASONS = ("empty_corpus", "no_sources", "floor", "no_span", "echo", "low_confidence", "unverified",
                   "unsupported", "model")


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
    # What the reader should know about how it was answered, e.g. that a date filter
    # could not see the documents without a date. In the question's language.
    notes: tuple[str, ...] = ()
    # The date window a time expression in the question set ("أمس" → since/until), or
    # None: ``rag.when.Window.to_dict()`` (since, until, text, start, end).
    window: dict[str, Any] | None = None

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
            "notes": list(self.notes),
            **({"window": self.window} if self.window else {}),
            **({"extra": self.extra} if self.extra else {}),
        }

    def export(self, fmt: str) -> str:
        """This answer's citations as ``csl-json``, ``bibtex``, ``ris``, ``csv``, ``markdown``
        (the answer with footnotes) or ``json`` (the whole Answer)."""
        from rag.export import render

        return render([self.to_dict()], fmt)


# ------------------------------------------------------------------ the library


@dataclass(frozen=True)
class SourceRef:
    """Where a stored document came from: a file (``path!member#record``) or URL."""

    source: str
    relation: str = "original"  # original | duplicate | near-duplicate | same-story (not merged)
    # The copy's own title, paper (display name), date and URL as it was ingested.
    title: str = ""
    site: str = ""
    date: str = ""
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "relation": self.relation, "title": self.title, "site": self.site,
                "date": self.date, "url": self.url}


@dataclass(frozen=True)
class Document:
    """A stored document's metadata (``Akhbar.documents()``)."""

    doc_id: str
    title: str = ""
    byline: str = ""
    date: str = ""
    site: str = ""
    url: str = ""
    language: str = ""
    chunks: int = 0
    status: str = "complete"  # pending while a write is in flight or was interrupted
    content_hash: str = ""
    sources: tuple[SourceRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "title": self.title, "byline": self.byline, "date": self.date,
                "site": self.site, "url": self.url, "language": self.language, "chunks": self.chunks,
                "status": self.status, "content_hash": self.content_hash,
                "sources": [s.to_dict() for s in self.sources]}


@dataclass(frozen=True)
class ArticleText:
    """A stored document with its text rebuilt from its chunks (``Akhbar.article()``).
    ``segments`` are ``(original_start, text_start, length)``: offsets into the original
    article (quotes, citations) map onto ``text`` with ``offset()``."""

    document: Document
    text: str
    segments: tuple[tuple[int, int, int], ...] = ()

    def offset(self, original: int) -> int | None:
        """``original`` (an offset into the article as ingested) in ``text``; None when it
        falls in a part that was not indexed."""
        for orig, at, n in self.segments:
            if orig <= original <= orig + n:
                return at + original - orig
        return None

    def to_dict(self) -> dict[str, Any]:
        d = self.document.to_dict()
        d["text"] = self.text
        d["segments"] = [list(s) for s in self.segments]
        d["sources"] = [s.source for s in self.document.sources]
        return d


@dataclass(frozen=True)
class Removed:
    """What ``Akhbar.remove()`` took out: documents by id, sources by path or URL."""

    documents: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.documents or self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {"documents": list(self.documents), "sources": list(self.sources)}


@dataclass(frozen=True)
class StoreCounts:
    """What ``Akhbar.doctor()`` found: documents in the manifest, chunks in the store, and
    each kind of disagreement between them (0 after a repair)."""

    documents: int = 0
    chunks_in_store: int = 0
    pending_documents: int = 0
    documents_missing_vectors: int = 0
    orphan_chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DoctorReport:
    found: StoreCounts
    actions: tuple[str, ...] = ()
    after: StoreCounts | None = None  # None when only checked
    consistent: bool = True  # as found, before any repair

    def to_dict(self) -> dict[str, Any]:
        after = {"documents": self.after.documents, "chunks_in_store": self.after.chunks_in_store} if self.after else {}
        return {"found": self.found.to_dict(), "actions": list(self.actions), "after": after,
                "consistent": self.consistent}


@dataclass(frozen=True)
class EmbeddingInfo:
    name: str
    path: str
    ready: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LLMInfo:
    backend_setting: str
    backend: str | None  # None until the first question selects one
    model: str | None
    reason: str
    gguf: str
    ollama_host: str
    ollama_model: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Stats:
    """``Akhbar.stats()``: where the collection lives, its size, and its models."""

    home: str
    collection: str
    documents: int
    chunks: int
    sources: int
    embedding_model: EmbeddingInfo
    llm: LLMInfo
    dated_documents: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"home": self.home, "collection": self.collection, "documents": self.documents,
                "chunks": self.chunks, "sources": self.sources, "embedding_model": self.embedding_model.to_dict(),
                "llm": self.llm.to_dict(), "dated_documents": self.dated_documents}


@dataclass(frozen=True)
class TimelineEntry:
    """One article on a topic: its paper, title, date, and the sentence that best matches
    the query; ``story`` numbers the group of articles on the same story (1 = the first
    story to appear), ``also`` the copies merged into it at ingest."""

    doc_id: str
    date: str
    site: str
    title: str
    url: str
    source_path: str
    sentence: str
    score: float  # cosine of the query with the article's best chunk
    story: int
    also: tuple[SourceRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["also"] = [a.to_dict() for a in self.also]
        return d


@dataclass(frozen=True)
class Timeline:
    """The articles on a topic in date order (undated ones last), grouped into stories."""

    query: str
    entries: tuple[TimelineEntry, ...]
    floor: float  # the relevance an article needed to be listed
    undated: int = 0  # entries without a date

    @property
    def stories(self) -> int:
        return len({e.story for e in self.entries})

    def per_day(self) -> dict[str, int]:
        """Articles per publication day (the bar chart), oldest first."""
        out: dict[str, int] = {}
        for e in self.entries:
            if e.date:
                out[e.date[:10]] = out.get(e.date[:10], 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "floor": self.floor, "stories": self.stories, "undated": self.undated,
                "per_day": self.per_day(), "entries": [e.to_dict() for e in self.entries]}

    def export(self, fmt: str) -> str:
        """The listed articles in one of the citation export formats (as an answer's
        citations would be): csl-json, bibtex, ris, csv, markdown or json."""
        from rag.export import render

        if fmt == "json":
            import json

            return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        citations = [{"number": i, "doc_id": e.doc_id, "title": e.title, "source_path": e.source_path,
                      "quote": e.sentence, "date": e.date, "site": e.site, "url": e.url,
                      "also": [a.to_dict() for a in e.also]} for i, e in enumerate(self.entries, start=1)]
        text = " ".join(f"[{i}]" for i in range(1, len(citations) + 1))
        return render([{"question": self.query, "text": text, "citations": citations}], fmt)
