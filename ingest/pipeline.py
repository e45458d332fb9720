"""Ingest: files → articles → chunks → embeddings → the vector store.

Idempotent by construction. A document's id comes from its source path and every chunk
id carries the document's content hash, so an unchanged file is recognised and skipped,
and a changed file's new chunks are written (one store call per document) before its old
chunks are deleted: a crash in between leaves the old version searchable, and the next run
finishes the replacement. One bad file gets one line in the report; the batch goes on and
nothing already stored is touched.

Formats here: UTF-8 ``.txt`` and ``.md`` in the seed layout. This module does not decide
how answers are made; it only writes the store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.article import Article, content_hash, parse_article
from ingest.chunker import chunk_article
from rag.embedder import Embedder
from rag.errors import IngestError
from rag.store import ChromaStore

SUPPORTED = {".txt", ".md"}

Progress = Callable[[str], None]


@dataclass
class IngestReport:
    documents: int = 0  # documents found readable (new, changed or unchanged)
    new_chunks: int = 0
    skipped: int = 0  # unchanged documents
    replaced: int = 0  # documents whose old chunks were replaced
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    doc_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.documents} documents, {self.new_chunks} new chunks, "
                f"{self.skipped} skipped, {len(self.errors)} errors")

    def to_dict(self) -> dict[str, object]:
        return {
            "documents": self.documents, "new_chunks": self.new_chunks, "skipped": self.skipped,
            "replaced": self.replaced, "errors": [{"file": f, "reason": r} for f, r in self.errors],
            "doc_ids": self.doc_ids, "summary": self.summary(),
        }


def iter_files(paths: Iterable[str | os.PathLike[str]], report: IngestReport) -> Iterator[Path]:
    """Files under ``paths`` (directories recursively, hidden entries skipped), sorted."""
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            report.errors.append((str(p), "no such file or directory"))
        elif p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if f.is_file() and not any(part.startswith(".") for part in rel):
                    if f.suffix.lower() in SUPPORTED:
                        yield f
                    else:
                        report.errors.append((str(f), f"unsupported format {f.suffix or '(no extension)'}"))
        elif p.suffix.lower() in SUPPORTED:
            yield p
        else:
            report.errors.append((str(p), f"unsupported format {p.suffix or '(no extension)'}"))


def read_article(path: Path) -> Article:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise IngestError(f"{path}: cannot read: {e.strerror or e}") from e
    if b"\x00" in raw[:8192]:
        raise IngestError(f"{path}: looks like a binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IngestError(f"{path}: not valid UTF-8 text (byte {e.start})") from e
    return parse_article(text, str(path.resolve()), digest=content_hash(raw))


class Ingestor:
    def __init__(self, store: ChromaStore, embedder: Embedder, chunk_tokens: int) -> None:
        self.store = store
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens

    def ingest_paths(self, paths: Iterable[str | os.PathLike[str]], progress: Progress | None = None) -> IngestReport:
        report = IngestReport()
        for path in iter_files(paths, report):
            try:
                article = read_article(path)
            except IngestError as e:
                report.errors.append((str(path), str(e).removeprefix(f"{path}: ")))
                continue
            self._ingest_one(article, report)
            if progress:
                progress(f"{path.name}: {report.summary()}")
        return report

    def ingest_articles(self, articles: Iterable[Article]) -> IngestReport:
        report = IngestReport()
        for article in articles:
            self._ingest_one(article, report)
        return report

    def _ingest_one(self, article: Article, report: IngestReport) -> None:
        existing = self.store.doc_chunk_meta({"doc_id": article.doc_id})
        current = {cid for cid, m in existing.items() if m.get("content_hash") == article.content_hash}
        stale = set(existing) - current
        report.documents += 1
        report.doc_ids.append(article.doc_id)
        if current and not stale:
            report.skipped += 1
            return
        if not current:
            chunks = chunk_article(article, self.embedder.count_tokens, self.chunk_tokens)
            # The title is embedded with each chunk so a chunk is found by what the story is
            # about, not only by its own sentences; the stored text stays the original.
            vectors = self.embedder.embed_passages([f"{c.title}\n{c.text}" for c in chunks])
            self.store.add(chunks, vectors)
            report.new_chunks += len(chunks)
        if stale:
            self.store.delete_chunks(stale)
            report.replaced += 1
