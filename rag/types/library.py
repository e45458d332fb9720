"""The library's frozen records: where a document came from (``SourceRef``), stored
documents and their text, store counts and repairs, stats, and the timeline. Each has
``to_dict()``; no other behaviour lives here."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from rag.export import render


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
    doc_id: str = ""  # the stored document that holds this copy's text ("" when unknown)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "relation": self.relation, "title": self.title, "site": self.site,
                "date": self.date, "url": self.url, "doc_id": self.doc_id}


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
    chunks_waiting_for_vectors: int = 0  # ingest's vector phase not finished: consistent

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
    pending_vectors: int = 0  # chunks searchable by BM25 only, their vectors still to come

    def to_dict(self) -> dict[str, Any]:
        return {"home": self.home, "collection": self.collection, "documents": self.documents,
                "chunks": self.chunks, "sources": self.sources, "embedding_model": self.embedding_model.to_dict(),
                "llm": self.llm.to_dict(), "dated_documents": self.dated_documents,
                "pending_vectors": self.pending_vectors}


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
        if fmt == "json":
            return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        citations = [{"number": i, "doc_id": e.doc_id, "title": e.title, "source_path": e.source_path,
                      "quote": e.sentence, "date": e.date, "site": e.site, "url": e.url,
                      "also": [a.to_dict() for a in e.also]} for i, e in enumerate(self.entries, start=1)]
        text = " ".join(f"[{i}]" for i in range(1, len(citations) + 1))
        return render([{"question": self.query, "text": text, "citations": citations}], fmt)
