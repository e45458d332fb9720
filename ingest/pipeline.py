"""Ingest: sources → articles → dedupe → chunks → the chunk table (phase 1: searchable by BM25
at once) → embeddings → Chroma (phase 2, ``rag.vector_phase``: resumable, in the foreground
or behind).

For each article the manifest decides: unchanged (same source, same bytes) → skipped;
the same story already stored (normalised body hash) → the source is added to that
document as a duplicate; a near-duplicate (MinHash Jaccard ≥ ``near_threshold`` on word
shingles: syndicated wire copy with small edits) → likewise; otherwise it is written.

Phase 1 writes are crash-safe (see ``ingest.manifest``): the document row goes in as
``pending`` with its final chunk ids, the chunks go into the chunk table (ids are
deterministic: doc id, content hash, index), stale chunks of that document are deleted from
the table and the vector store, and only then is the row marked ``complete``. Phase 2 then
embeds what the table holds without vectors. Killing the process at any point and running
the same ingest again ends in the same store as an uninterrupted run. The input is streamed
and written in batches, so memory stays flat on large archives.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.article import Article, body_hash, doc_id_for
from ingest.chunker import chunk_article
from ingest.formats import SUPPORTED, Item, Limits, Note, Problem, read_file, read_url
from ingest.manifest import DocRow, Manifest
from rag.chunks import ChunkTable
from rag.embedder import Embedder
from rag.sites import site_name, site_table
from rag.store import ChromaStore
from rag.text import normalize_for_embedding
from rag.types import Chunk
from rag.vector_phase import VectorPhase, VectorProgress

NUM_PERM = 64
# Stored signatures are only comparable under the scheme that made them; pin it.
MINHASH_SCHEME = "affine64"


@dataclass
class IngestReport:
    documents: int = 0  # articles read (new, changed, unchanged or duplicate)
    new_chunks: int = 0
    skipped: int = 0  # unchanged, or the same story already stored
    replaced: int = 0  # documents whose old chunks were replaced
    duplicates: int = 0
    near_duplicates: int = 0
    pruned: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    doc_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lexical_seconds: float = 0.0  # phase 1: until the documents were searchable
    pending_vectors: int = 0  # chunks still waiting for vectors when the call returned
    dated: int = 0  # articles read with a date
    # (source, message): per JSON file, which field fed each piece of metadata; warnings.
    notes: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.documents} documents, {self.new_chunks} new chunks, "
                f"{self.skipped} skipped, {len(self.errors)} errors")

    @property
    def undated(self) -> int:
        return self.documents - self.dated

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents, "new_chunks": self.new_chunks, "skipped": self.skipped,
            "replaced": self.replaced, "duplicates": self.duplicates, "near_duplicates": self.near_duplicates,
            "pruned": self.pruned, "errors": [{"source": s, "reason": r} for s, r in self.errors],
            "doc_ids": self.doc_ids, "seconds": round(self.seconds, 3), "summary": self.summary(),
            "lexical_seconds": round(self.lexical_seconds, 3), "pending_vectors": self.pending_vectors,
            "dated": self.dated, "notes": [{"source": s, "message": m} for s, m in self.notes],
        }


@dataclass
class Progress:
    """What a progress display needs; called after every article and every write."""

    files_done: int = 0
    files_total: int = 0
    documents: int = 0
    chunks: int = 0
    started: float = field(default_factory=time.monotonic)


ProgressFn = Callable[[Progress], None]


def is_url(s: str) -> bool:
    return s.startswith(("http://", "https://"))


def list_inputs(inputs: Iterable[str | os.PathLike[str]], report: IngestReport) -> list[str]:
    """Expand directories (recursively, hidden entries skipped, sorted); keep URLs."""
    out: list[str] = []
    for raw in inputs:
        s = str(raw)
        if is_url(s):
            out.append(s)
            continue
        p = Path(s)
        if not p.exists() and not p.is_symlink():
            report.errors.append((s, "no such file or directory"))
        elif p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if any(part.startswith(".") for part in rel) or not f.is_file():
                    continue
                if f.suffix.lower() in SUPPORTED:
                    out.append(str(f))
                else:
                    report.errors.append((str(f.resolve()), f"unsupported format {f.suffix or '(no extension)'}"))
        else:
            out.append(s)
    return out


def minhash_of(text: str) -> Any:
    from datasketch import MinHash

    words = normalize_for_embedding(text).lower().split()
    shingles = {" ".join(words[i:i + 5]) for i in range(max(1, len(words) - 4))}
    mh = MinHash(num_perm=NUM_PERM, scheme=MINHASH_SCHEME)
    for s in shingles:
        mh.update(s.encode("utf-8"))
    return mh


@dataclass
class _Planned:
    article: Article
    doc_id: str
    body_hash: str
    minhash: Any
    chunks: list[Chunk]
    replaces: bool


class Ingestor:
    def __init__(self, store: ChromaStore, embedder: Embedder, manifest: Manifest, chunk_tokens: int,
                 limits: Limits | None = None, near_threshold: float = 0.8, batch_chunks: int = 64,
                 sites: Mapping[str, str] | None = None, chunks: ChunkTable | None = None,
                 vectors: VectorPhase | None = None) -> None:
        self.store = store
        # The chunk table lives in the manifest's file: one home, one place for what exists.
        self.chunks = chunks or ChunkTable(manifest.path, manifest.collection)
        self.chunks.fill_from(store)
        self.vectors = vectors or VectorPhase(self.chunks, store, embedder)
        self.sites = site_table(sites)
        self.embedder = embedder
        self.manifest = manifest
        self.chunk_tokens = chunk_tokens
        self.limits = limits or Limits()
        self.near_threshold = near_threshold
        self.batch_chunks = batch_chunks
        self._lsh: Any = None
        self._lsh_sigs: dict[str, Any] = {}

    # ------------------------------------------------------------------ public

    def ingest(self, inputs: Iterable[str | os.PathLike[str]], prune: bool = False,
               progress: ProgressFn | None = None, wait: bool = True,
               vector_progress: Callable[[VectorProgress], None] | None = None) -> IngestReport:
        """Phase 1 over ``inputs``; with ``wait``, phase 2 too (every waiting chunk embedded,
        this run's or an earlier one's). Without it the caller runs ``self.vectors`` later."""
        report = IngestReport()
        t0 = time.monotonic()
        files = list_inputs(inputs, report)
        state = Progress(files_total=len(files))
        self._consume(self._items(files, state, progress), report, state, progress)
        if prune:
            report.pruned = self.prune()
        report.lexical_seconds = time.monotonic() - t0
        if progress:
            progress(state)
        if wait:
            self.vectors.run(vector_progress)
        report.pending_vectors = self.chunks.pending_count()
        report.seconds = time.monotonic() - t0
        return report

    def ingest_articles(self, articles: Iterable[Article], wait: bool = True) -> IngestReport:
        """Articles built in memory (benchmarks, tests): the same dedupe and write path."""
        report = IngestReport()
        t0 = time.monotonic()
        self._consume(articles, report, Progress(), None)
        report.lexical_seconds = time.monotonic() - t0
        if wait:
            self.vectors.run()
        report.pending_vectors = self.chunks.pending_count()
        report.seconds = time.monotonic() - t0
        return report

    def _consume(self, items: Iterable[Item], report: IngestReport, state: Progress,
                 progress: ProgressFn | None) -> None:
        """Plan each article (skip, link as duplicate, or write) and write in batches."""
        self._build_lsh()
        batch: list[_Planned] = []
        in_run: dict[str, str] = {}  # body hash → doc id planned in this run, not yet complete
        for item in items:
            if isinstance(item, Problem):
                report.errors.append((item.source, item.reason))
                continue
            if isinstance(item, Note):
                report.notes.append((item.source, item.message))
                continue
            if item.site:
                item = replace(item, site=site_name(item.site, self.sites))
            report.documents += 1
            report.dated += bool(item.date)
            state.documents = report.documents
            planned = self._plan(item, report, in_run)
            if planned is None:
                continue
            in_run[planned.body_hash] = planned.doc_id
            batch.append(planned)
            if sum(len(p.chunks) for p in batch) >= self.batch_chunks:
                self._write(batch, report, state, progress)
                batch = []
        if batch:
            self._write(batch, report, state, progress)
        if report.documents and not report.dated:
            report.notes.append(("", f"none of the {report.documents} documents has a date: date filters "
                                     "(--since/--until, the chat's date range) will not find them"))

    def remove(self, doc_id_or_source: str) -> dict[str, list[str]]:
        """Remove a document (by id, with all its sources) or one source (path/URL; its
        document goes when no source is left). Returns the removed documents and sources."""
        doc = self.manifest.doc(doc_id_or_source)
        if doc is not None:
            sources = [s.source for s in self.manifest.sources_of(doc.doc_id)]
            self._delete_doc(doc.doc_id)
            return {"documents": [doc.doc_id], "sources": sources}
        src = self.manifest.source(doc_id_or_source) or self.manifest.source(str(Path(doc_id_or_source).resolve()))
        if src is None:
            return {"documents": [], "sources": []}
        with self.manifest.tx() as db:
            self.manifest.drop_source(db, src.source)
        gone = self.manifest.source_count(src.doc_id) == 0
        if gone:
            self._delete_doc(src.doc_id)
        return {"documents": [src.doc_id] if gone else [], "sources": [src.source]}

    def prune(self) -> int:
        """Drop sources whose files are gone; delete documents left with no source."""
        gone_docs: set[str] = set()
        for s in self.manifest.all_sources():
            if is_url(s.source):
                continue
            path = s.source.split("!", 1)[0].split("#", 1)[0]
            if not Path(path).exists():
                with self.manifest.tx() as db:
                    self.manifest.drop_source(db, s.source)
                if self.manifest.source_count(s.doc_id) == 0:
                    gone_docs.add(s.doc_id)
        for doc_id in gone_docs:
            self._delete_doc(doc_id)
        return len(gone_docs)

    def reconcile(self) -> dict[str, int]:
        """Make the store agree with the manifest: delete chunks (vectors and table rows) no
        complete document claims, and report documents still pending (an interrupted write)."""
        claimed = self.manifest.chunk_ids()
        pending = {d.doc_id for d in self.manifest.docs("pending")}
        orphans = [cid for cid, doc in self.store.all_ids().items() if cid not in claimed and doc not in pending]
        self.store.delete_chunks(orphans)
        loose = [cid for cid, (doc, _) in self.chunks.ids().items() if cid not in claimed and doc not in pending]
        self.chunks.delete(loose)
        return {"orphan_chunks_deleted": len(set(orphans) | set(loose)), "pending_documents": len(pending)}

    def doctor(self, repair: bool = True) -> dict[str, Any]:
        """Check that the manifest, the chunk table and the vector store agree, and
        (``repair``) make them: interrupted (pending) documents and documents whose chunks
        are missing from the table are written again from their sources when those still
        exist, else removed; chunks whose vectors were lost are embedded again from the
        table; vectors and rows no document claims are deleted. Chunks merely waiting for
        their vectors (phase 2 not finished) are consistent, and counted."""
        in_store = self.store.all_ids()
        table = self.chunks.ids()
        docs = self.manifest.docs()
        pending = [d for d in docs if d.status == "pending"]
        complete = [d for d in docs if d.status == "complete"]
        missing = [d for d in complete if any(c not in table for c in d.chunk_ids)]
        lost = [cid for cid, (_, emb) in table.items() if emb and cid not in in_store]
        lost_docs = {table[c][0] for c in lost}
        unmarked = [cid for cid, (_, emb) in table.items() if not emb and cid in in_store]
        claimed = self.manifest.chunk_ids()
        pending_ids = {d.doc_id for d in pending}
        orphans = [cid for cid, doc in in_store.items() if cid not in claimed and doc not in pending_ids]
        loose = [cid for cid, (doc, _) in table.items() if cid not in claimed and doc not in pending_ids]
        waiting = sum(1 for _, emb in table.values() if not emb)
        found = {"documents": len(docs), "chunks_in_store": len(in_store), "pending_documents": len(pending),
                 "documents_missing_vectors": len(lost_docs | {d.doc_id for d in missing}),
                 "orphan_chunks": len(set(orphans) | set(loose)), "chunks_waiting_for_vectors": waiting}
        actions: list[str] = []
        if repair:
            if orphans or loose:
                self.store.delete_chunks(orphans)
                self.chunks.delete(loose)
                actions.append(f"deleted {len(set(orphans) | set(loose))} chunk(s) no document claims")
            if unmarked:
                self.chunks.mark_embedded(unmarked)  # written just before a crash; not embedded again
            if lost:
                self.chunks.mark_embedded(lost, embedded=False)
                actions.append(f"{len(lost)} chunk(s) of {len(lost_docs)} document(s) had lost their vectors: "
                               "embedded again from the chunk table")
            for d in pending + missing:
                why = "interrupted write" if d.status == "pending" else "chunks missing"
                sources = [s.source for s in self.manifest.sources_of(d.doc_id)]
                local = sorted({src.split("!", 1)[0].split("#", 1)[0] for src in sources if not is_url(src)})
                again = [p for p in local if Path(p).exists()] + [u for u in sources if is_url(u)]
                self._delete_doc(d.doc_id)
                if again:
                    report = self.ingest(again, wait=False)
                    actions.append(f"{d.doc_id} ({why}): re-ingested from {', '.join(again)} "
                                   f"({report.new_chunks} chunks, {len(report.errors)} errors)")
                else:
                    actions.append(f"{d.doc_id} ({why}): removed; its sources are gone ({', '.join(sources) or '-'})")
            self.vectors.run()
            after = self.store.all_ids()
            found_after = {"documents": len(self.manifest.docs()), "chunks_in_store": len(after)}
        else:
            found_after = {}
        return {"found": found, "actions": actions, "after": found_after,
                "consistent": not (pending or missing or lost or orphans or loose)}

    # ----------------------------------------------------------------- helpers

    def _items(self, files: list[str], state: Progress, progress: ProgressFn | None) -> Iterator[Item]:
        for f in files:
            yield from (read_url(f, self.limits) if is_url(f) else read_file(Path(f), self.limits))
            state.files_done += 1
            if progress:
                progress(state)

    def _build_lsh(self) -> None:
        import numpy as np
        from datasketch import MinHash, MinHashLSH

        self._lsh = MinHashLSH(threshold=self.near_threshold, num_perm=NUM_PERM)
        self._lsh_sigs = {}
        for doc_id, blob in self.manifest.minhashes():
            mh = MinHash(num_perm=NUM_PERM, hashvalues=np.frombuffer(blob, dtype=np.uint64), scheme=MINHASH_SCHEME)
            self._lsh_sigs[doc_id] = mh
            self._lsh.insert(doc_id, mh)

    def _near_duplicate(self, mh: Any, exclude: str | None) -> str | None:
        best, best_j = None, 0.0
        for cand in self._lsh.query(mh):
            if cand == exclude:
                continue
            j = mh.jaccard(self._lsh_sigs[cand])
            if j >= self.near_threshold and j > best_j:
                best, best_j = cand, j
        return best

    def _link(self, article: Article, doc_id: str, relation: str, previous: str | None) -> None:
        with self.manifest.tx() as db:
            self.manifest.put_source(db, article.source_path, doc_id, article.content_hash, relation,
                                     *_copy_meta(article))
        if previous and previous != doc_id and self.manifest.source_count(previous) == 0:
            self._delete_doc(previous)

    def _plan(self, article: Article, report: IngestReport, in_run: dict[str, str]) -> _Planned | None:
        src = self.manifest.source(article.source_path)
        if src and src.content_hash == article.content_hash:
            doc = self.manifest.doc(src.doc_id)
            if doc and doc.status == "complete":
                if not (src.title or src.site or src.date or src.url) and any(_copy_meta(article)):
                    # A source recorded before copies kept their metadata (manifest version 1):
                    # an unchanged re-ingest fills it in, so "also reported by" can name it.
                    with self.manifest.tx() as db:
                        self.manifest.put_source(db, article.source_path, src.doc_id, src.content_hash,
                                                 src.relation, *_copy_meta(article))
                report.skipped += 1
                report.doc_ids.append(doc.doc_id)
                return None
        own = src.doc_id if src else None
        bh = body_hash(article.body())
        same = self.manifest.doc_by_body(bh)
        same_id = same.doc_id if same else in_run.get(bh)
        if same_id and same_id == own:
            # Same story, other bytes (re-encoded, re-spaced): note the new hash, keep the chunks.
            with self.manifest.tx() as db:
                self.manifest.put_source(db, article.source_path, own, article.content_hash,
                                         src.relation if src else "original", *_copy_meta(article))
            report.skipped += 1
            report.doc_ids.append(own)
            return None
        if same_id and same_id != own:
            self._link(article, same_id, "duplicate", own)
            report.skipped += 1
            report.duplicates += 1
            report.doc_ids.append(same_id)
            return None
        mh = minhash_of(article.body())
        near = self._near_duplicate(mh, exclude=own)
        if near:
            self._link(article, near, "near-duplicate", own)
            report.skipped += 1
            report.near_duplicates += 1
            report.doc_ids.append(near)
            return None
        # Keep the document id when this source owns its document alone (a changed file
        # replaces its chunks in place); otherwise the changed text becomes its own document.
        if own and src and src.relation == "original" and self.manifest.source_count(own) == 1:
            doc_id = own
        else:
            doc_id = doc_id_for(article.source_path)
            if self.manifest.doc(doc_id) and self.manifest.source_count(doc_id) > (1 if own == doc_id else 0):
                doc_id = doc_id_for(article.source_path + "\n" + article.content_hash)
        article = article.with_doc_id(doc_id)
        chunks = chunk_article(article, self.embedder.count_tokens, self.chunk_tokens)
        report.doc_ids.append(doc_id)
        replaces = self.manifest.doc(doc_id) is not None
        if own and own != doc_id:
            # The source leaves the document it pointed at (it changed); that one may now be empty.
            with self.manifest.tx() as db:
                self.manifest.drop_source(db, article.source_path)
            if self.manifest.source_count(own) == 0:
                self._delete_doc(own)
        self._index(doc_id, mh)
        return _Planned(article, doc_id, bh, mh, chunks, replaces)

    def _index(self, doc_id: str, mh: Any) -> None:
        if doc_id in self._lsh:
            self._lsh.remove(doc_id)  # a replaced document gets its new signature
        self._lsh.insert(doc_id, mh)
        self._lsh_sigs[doc_id] = mh

    def _write(self, batch: list[_Planned], report: IngestReport, state: Progress,
               progress: ProgressFn | None) -> None:
        # One batch, three steps, each atomic: rows go in as pending, then the chunks (text and
        # metadata; their vectors are phase 2's) with any stale ones out, then the rows turn
        # complete. From then on BM25 finds them.
        with self.manifest.tx() as db:
            for p in batch:
                a = p.article
                self.manifest.put_doc(db, DocRow(
                    p.doc_id, a.content_hash, p.body_hash, p.minhash.hashvalues.tobytes(), a.title, a.byline,
                    a.date, a.site, a.url, a.language, tuple(c.chunk_id for c in p.chunks), "pending"))
                self.manifest.put_source(db, a.source_path, p.doc_id, a.content_hash, "original", *_copy_meta(a))
        self.chunks.put([c for p in batch for c in p.chunks])
        for p in batch:
            if p.replaces:  # only a document written before can have chunks of an older version
                keep = {c.chunk_id for c in p.chunks}
                self.chunks.delete(self.chunks.ids_for_doc(p.doc_id) - keep)
                self.store.delete_chunks(self.store.ids_for_doc(p.doc_id) - keep)
        with self.manifest.tx() as db:
            for p in batch:
                self.manifest.set_status(p.doc_id, "complete", db)
                report.new_chunks += len(p.chunks)
                report.replaced += int(p.replaces)
                state.chunks += len(p.chunks)
        if progress:
            progress(state)

    def _delete_doc(self, doc_id: str) -> None:
        # Vectors first, then the chunk rows, then the manifest row: a crash in between leaves
        # a row whose chunks are gone, which the next ingest of that source (or doctor)
        # rewrites; never vectors without a row.
        self.store.delete_doc(doc_id)
        self.chunks.delete_doc(doc_id)
        with self.manifest.tx() as db:
            self.manifest.drop_doc(db, doc_id)
        if self._lsh is not None and doc_id in self._lsh:
            self._lsh.remove(doc_id)
            self._lsh_sigs.pop(doc_id, None)


def _copy_meta(article: Article) -> tuple[str, str, str, str]:
    """What a source row keeps of its own copy: title, site, date, url."""
    return article.title, article.site, article.date, article.url
