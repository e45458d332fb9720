"""``Akhbar``: the one entry object of the Python API.

    bot = Akhbar.open()                  # Config.load(): AKHBAR_HOME, TOML, env
    bot.ingest("seeds/")                 # idempotent
    ans = bot.ask("…")                   # Answer with [n] markers and Citations
    for piece in bot.ask_stream("…"): …  # str pieces, then the Answer

It wires config → store, embedders and LLM (each loaded lazily, once per object) and
drives the ingest pipeline; the logic lives in ``rag.answer`` and ``ingest``. Ingest embeds
through ``embedder`` (sentence-transformers); answering through ``query_embedder``, the same
model computed without torch where it can, so a process that only asks starts fast.
Ingest's second phase (vectors, ``rag.vector_phase``) runs in the foreground by default, or
behind on a thread (``ingest(wait=False)``, ``start_vectors``) that pauses while a question is
answered.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from ingest.formats import Limits
from ingest.manifest import Manifest
from ingest.pipeline import Ingestor
from rag.answer import Pipeline, Request, last_answer
from rag.answer.plan import reference_date
from rag.answer.read import reader_prefix
from rag.articles import rebuild
from rag.chunks import ChunkTable
from rag.config import Config, check_fields
from rag.conversation import Conversation
from rag.embedder import Embedder, OllamaEmbedder, SentenceTransformerEmbedder
from rag.errors import AkhbarError, BackendError, ModelError
from rag.lexical import BM25Index
from rag.llm import LLM, Selection, select_llm
from rag.models import status as model_status
from rag.prompts import Prompts
from rag.retrieval import Filters, Retriever
from rag.store import ChromaStore
from rag.stories import Stories
from rag.types import (
    Answer,
    ArticleText,
    DoctorReport,
    Document,
    EmbeddingInfo,
    Hit,
    LLMInfo,
    Removed,
    SourceRef,
    Stats,
    StoreCounts,
    Timeline,
)
from rag.vector_phase import VectorPhase, VectorProgress
from rag.when import Window, find_window


class Akhbar:
    def __init__(self, config: Config, embedder: Embedder | None = None, llm: LLM | None = None) -> None:
        self.config = config
        self._embedder = embedder
        self._query_embedder: Embedder | None = embedder
        self._selection = Selection(llm, "given by the caller") if llm is not None else None
        self._store: ChromaStore | None = None
        self._manifest: Any = None
        self._retriever: Retriever | None = None
        self._chunks: ChunkTable | None = None
        self._vectors: VectorPhase | None = None
        # Re-entrant: building the retriever builds the store and manifest under the same lock.
        self._lock = threading.RLock()
        self._slots = threading.BoundedSemaphore(config.llm.queue_size)

    @classmethod
    def open(cls, config: Config | str | os.PathLike[str] | None = None, *, collection: str | None = None,
             **overrides: Any) -> Akhbar:
        """Open with ``config`` (a Config, a TOML path, or None for ``Config.load()``)."""
        cfg = config if isinstance(config, Config) else Config.load(config)
        if collection:
            overrides.setdefault("store", {})
            overrides["store"] = {**overrides["store"], "collection": collection}
        if overrides:
            cfg = cfg.with_overrides(**overrides)
        return cls(cfg)

    # ------------------------------------------------------------ components

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    if self.config.embed.backend == "ollama":
                        llm = self.config.llm
                        self._embedder = OllamaEmbedder(llm.ollama_host, self.config.embed.ollama_model,
                                                        timeout_s=llm.timeout_s, retries=llm.retries,
                                                        backoff_s=llm.retry_backoff_s)
                        return self._embedder
                    path = self.config.embed_model_path
                    if not path.exists():
                        raise ModelError(f"embedding model not found at {path}; run `akhbar models prepare`")
                    self._embedder = SentenceTransformerEmbedder(
                        path, batch_size=self.config.embed.batch_size, name=self.config.embed.model,
                        precision=self.config.embed.precision, compile_after=self.config.embed.compile_after,
                    )
        return self._embedder

    @property
    def query_embedder(self) -> Embedder:
        """What embeds questions and evidence at answer time: ``embedder`` itself when the
        caller gave one, Ollama embeds, or ``embed.query_engine`` says so; else the local
        model's ONNX export through onnxruntime (same vectors, no torch import), when
        ``akhbar models prepare`` made it."""
        if self._query_embedder is None:
            with self._lock:
                if self._query_embedder is None:
                    engine = self.config.embed.query_engine
                    path = self.config.embed_model_path
                    if self.config.embed.backend != "ollama" and engine != "sentence-transformers":
                        from rag.models_onnx import onnx_status

                        status = onnx_status(path)
                        if status["ready"]:
                            from rag.embedder import OnnxEmbedder

                            self._query_embedder = OnnxEmbedder(path, name=self.config.embed.model)
                            return self._query_embedder
                        if engine == "onnx":
                            raise ModelError(f"embed.query_engine = onnx, but {status['problem']}: "
                                             "run `akhbar models prepare`")
                    self._query_embedder = self.embedder
        return self._query_embedder

    @property
    def store(self) -> ChromaStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    sc = self.config.store
                    self._store = ChromaStore(self.config.chroma_dir, sc.collection,
                                              embed_model=self.config.embed_name, url=sc.url, token=sc.token,
                                              headers=sc.headers, tenant=sc.tenant,
                                              database=self.config.chroma_database)
        return self._store

    @property
    def manifest(self) -> Manifest:
        """The ``ingest.manifest.Manifest`` of this collection (documents and their sources)."""
        if self._manifest is None:
            with self._lock:
                if self._manifest is None:
                    self._manifest = Manifest(self.config.manifest_path, self.config.store.collection)
        return self._manifest

    @property
    def chunks(self) -> ChunkTable:
        """Every stored chunk's text and whether its vector is stored yet (``rag.chunks``)."""
        if self._chunks is None:
            with self._lock:
                if self._chunks is None:
                    table = ChunkTable(self.config.manifest_path, self.config.store.collection)
                    table.fill_from(self.store)
                    self._chunks = table
        return self._chunks

    @property
    def vectors(self) -> VectorPhase:
        """Ingest's second phase over this collection (``rag.vector_phase``)."""
        if self._vectors is None:
            with self._lock:
                if self._vectors is None:
                    self._vectors = VectorPhase(self.chunks, self.store, self.embedder)
        return self._vectors

    @property
    def selection(self) -> Selection:
        if self._selection is None:
            with self._lock:
                if self._selection is None:
                    self._selection = select_llm(self.config)
        return self._selection

    @property
    def llm(self) -> LLM:
        llm = self.selection.llm
        assert llm is not None
        return llm

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            with self._lock:
                if self._retriever is None:
                    bm25 = BM25Index(self.config.home / "bm25" / self.config.store.collection)
                    self._retriever = Retriever(self.store, self.query_embedder, bm25, self.manifest.generation,
                                                mode=self.config.retrieval.mode,
                                                candidates=self.config.retrieval.candidates,
                                                sites=self.config.ingest.site_map, chunks=self.chunks,
                                                vectors=self.vectors)
        return self._retriever

    def with_llm(self, backend: str | None = None, model: str | None = None) -> Akhbar:
        """The same collection (shared store, embedder and retriever) answered by another
        backend/model: ``backend`` auto/ollama/llamacpp; ``model`` is the Ollama model name,
        or for llamacpp a built-in name or GGUF path. The UI's settings use this."""
        llm: dict[str, Any] = {}
        if backend:
            llm["backend"] = backend
        if model:
            llm["model" if (backend or self.config.llm.backend) == "llamacpp" else "ollama_model"] = model
        other = Akhbar(self.config.with_overrides(llm=llm) if llm else self.config)
        other._embedder, other._query_embedder = self._embedder, self.query_embedder
        other._store, other._manifest, other._retriever = self.store, self.manifest, self.retriever
        other._chunks, other._vectors = self.chunks, self.vectors
        other._lock, other._slots = self._lock, self._slots
        return other

    @property
    def stories(self) -> Stories:
        """Same-story links, "also reported by" and the timeline over this collection."""
        return Stories(self.config, self.store, self.manifest, self.retriever)

    def pipeline(self) -> Pipeline:
        """The answer path (``rag.answer``) over this collection and LLM."""
        llm = self.llm
        # llama.cpp loads a model in C without holding the GIL: started first, the load
        # overlaps opening the store and the lexical index.
        preload = getattr(llm, "preload", None)
        if preload is not None:
            preload()
        return Pipeline(self.config, self.retriever, self.query_embedder, llm, self.manifest,
                        self.stories.also_reported)

    # ---------------------------------------------------------------- ingest

    def ingestor(self, fields: Mapping[str, str] | None = None) -> Ingestor:
        """The ingest pipeline; ``fields`` maps JSON field names over ``ingest.fields``."""
        ic = self.config.ingest
        mapping = {**ic.field_map, **(fields or {})}
        check_fields(mapping, "the field mapping")
        limits = Limits(
            max_file_bytes=int(ic.max_file_mb * 1024 * 1024),
            max_zip_members=ic.max_zip_members,
            max_zip_total_bytes=int(ic.max_zip_total_mb * 1024 * 1024),
            fetch_timeout_s=ic.fetch_timeout_s,
            max_feed_entries=ic.max_feed_entries,
            fields=tuple(mapping.items()),
        )
        return Ingestor(self.store, self.embedder, self.manifest, self.config.embed.chunk_tokens, limits=limits,
                        near_threshold=ic.near_duplicate_threshold, sites=ic.site_map, chunks=self.chunks,
                        vectors=self.vectors)

    def ingest(self, *paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], prune: bool = False,
               progress: Callable[[Any], None] | None = None, fields: Mapping[str, str] | None = None,
               wait: bool = True, vector_progress: Callable[[VectorProgress], None] | None = None,
               behind: bool = True) -> Any:
        """Ingest files, directories, zips and URLs (feeds or pages); returns an ``IngestReport``.
        Idempotent; ``prune`` also removes documents whose files are gone. ``fields``: JSON
        field names for this archive, e.g. ``{"date": "crawl_time", "site": "paper"}``.
        The documents are answerable (by BM25) once the first phase returns; ``wait`` then
        computes every waiting vector before returning; otherwise a background thread of this
        object does (``behind``; ``vector_status()`` tells how far), or nothing until
        ``start_vectors``/``complete_vectors`` (a process about to exit)."""
        flat: list[str | os.PathLike[str]] = []
        for p in paths:
            if isinstance(p, (str, os.PathLike)):
                flat.append(p)
            else:
                flat.extend(p)
        self.vectors.stop()  # one writer: phase 1 may replace chunks that wait
        report = self.ingestor(fields).ingest(flat, prune=prune, progress=progress, wait=wait,
                                              vector_progress=vector_progress)
        if not wait and behind:
            self.start_vectors()
        return report

    def vector_status(self) -> VectorProgress:
        """How far ingest's vector phase is: chunks in all, still waiting, running or not."""
        return self.vectors.status()

    def start_vectors(self) -> bool:
        """Compute the waiting vectors on a background thread (False: none wait, or one runs)."""
        return self.vectors.start()

    def complete_vectors(self, progress: Callable[[VectorProgress], None] | None = None) -> VectorProgress:
        """Compute every waiting vector now, in this thread."""
        self.vectors.stop()
        return self.vectors.run(progress)

    def remove(self, doc_id_or_path: str) -> Removed:
        """Remove a document by id, or one source by path/URL (its document goes with its
        last source)."""
        out = self.ingestor().remove(doc_id_or_path)
        return Removed(tuple(out["documents"]), tuple(out["sources"]))

    def doctor(self, repair: bool = True) -> DoctorReport:
        """Check (and by default repair) that the manifest and the vectors agree; see
        ``ingest.pipeline.Ingestor.doctor``."""
        with self._lock:
            out = self.ingestor().doctor(repair=repair)
        after = StoreCounts(**out["after"]) if out["after"] else None
        return DoctorReport(StoreCounts(**out["found"]), tuple(out["actions"]), after, bool(out["consistent"]))

    def reconcile(self) -> dict[str, int]:
        return dict(self.ingestor().reconcile())

    # ------------------------------------------------------------------- ask

    def warm(self, language: str = "ar") -> float:
        """Load everything a first question would wait for: the embedding model, the
        lexical index, the store, the LLM (and, on llama.cpp, its copy vocabulary and the
        prompt's fixed prefix in the KV cache). Returns the seconds it took. ``akhbar
        chat`` calls it before it prints its URL."""
        t0 = time.perf_counter()
        if self.retriever.count():
            self.retrieve("warm", top_k=1)
        else:
            self.query_embedder.embed_query("warm")
        prime = getattr(self.llm, "prime", None)
        if prime is not None:
            prime(reader_prefix(self.config, self.llm, Prompts(self.config.prompts_dir), language))
        return time.perf_counter() - t0

    def retrieve(self, question: str, top_k: int | None = None, filters: Filters | None = None,
                 mode: str | None = None) -> list[Hit]:
        return self.retriever.search(question, top_k or self.config.retrieval.top_k, filters, mode=mode)

    def ask_stream(self, question: str, top_k: int | None = None, filters: Filters | None = None,
                   search_text: str | None = None, *, as_of: str | date | None = None,
                   time_filter: bool = True) -> Iterator[str | Answer]:
        """Text pieces as they are generated, then the final ``Answer`` (always last).
        ``search_text`` overrides what retrieval sees. A time expression in the question
        ("أمس", "last week") becomes a date filter, resolved against ``as_of`` (default:
        ``answer.as_of``), unless ``filters`` has dates or ``time_filter`` is False; the
        Answer carries the ``window`` and says so in a note."""
        if not question or not question.strip():
            raise AkhbarError("the question is empty")
        return self.stream(Request(question, top_k, filters, search_text, as_of, time_filter))

    def stream(self, request: Request) -> Iterator[str | Answer]:
        """The pipeline's stream for ``request``, one question at a time through a bounded queue."""
        # The model answers one question at a time: waiting questions are capped, not piled up.
        if not self._slots.acquire(blocking=False):
            raise BackendError(f"busy: {self.config.llm.queue_size} questions are already being answered or "
                               "waiting (llm.queue_size); try again shortly")
        return self._released(request)

    def _released(self, request: Request) -> Iterator[str | Answer]:
        try:
            with self.vectors.answering():  # the vector phase's thread waits meanwhile
                pipeline = self.pipeline()
                settle = getattr(self.llm, "settle", None)
                for item in pipeline.stream(request):
                    if settle is not None:  # a reply that needs no model must still be seen
                        settle()
                        settle = None
                    yield item
        finally:
            self._slots.release()

    def reference_date(self, as_of: str | date | None = None) -> date:
        """What "today" is for time expressions (see ``rag.answer.plan.reference_date``)."""
        return reference_date(self.config, self.manifest, as_of)

    def time_window(self, question: str, as_of: str | date | None = None) -> Window | None:
        """The date window of the first time expression in ``question``, or None."""
        return find_window(question, self.reference_date(as_of))

    def same_story(self, doc_id: str, floor: float | None = None, lexical: bool = True) -> list[tuple[str, float]]:
        return self.stories.same_story(doc_id, floor, lexical)

    def story_links(self, doc_id: str, floor: float | None = None,
                    lexical: bool | None = None) -> list[tuple[str, float, float]]:
        return self.stories.story_links(doc_id, floor, lexical)

    def also_reported(self, doc_id: str, stories: bool = True) -> tuple[SourceRef, ...]:
        return self.stories.also_reported(doc_id, stories)

    def timeline(self, query: str, filters: Filters | None = None, floor: float | None = None,
                 most: int = 200) -> Timeline:
        return self.stories.timeline(query, filters, floor, most)

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None, *,
            as_of: str | date | None = None, time_filter: bool = True) -> Answer:
        return last_answer(self.ask_stream(question, top_k, filters, as_of=as_of, time_filter=time_filter))

    def conversation(self, filters: Filters | None = None) -> Conversation:
        """A new ``Conversation``: follow-ups are rewritten with their context before retrieval."""
        return Conversation(self.stream, filters)

    def chat(self, messages: list[dict[str, Any]], top_k: int | None = None, filters: Filters | None = None) -> Answer:
        """Answer the last user message of a chat, using the earlier turns as context."""
        conv, question = Conversation.from_messages(self.stream, messages, filters)
        return conv.ask(question, top_k)

    # ----------------------------------------------------------------- stats

    def _document(self, row: Any, sources: list[Any]) -> Document:
        return Document(doc_id=row.doc_id, title=row.title, byline=row.byline, date=row.date, site=row.site,
                        url=row.url, language=row.language, chunks=len(row.chunk_ids), status=row.status,
                        content_hash=row.content_hash,
                        sources=tuple(SourceRef(s.source, s.relation, s.title, s.site, s.date, s.url, row.doc_id)
                                      for s in sources))

    def documents(self) -> list[Document]:
        """Every stored document with its metadata, chunk count and all its sources, newest first."""
        return [self._document(row, self.manifest.sources_of(row.doc_id)) for row in self.manifest.docs()]

    def article(self, doc_id: str) -> ArticleText:
        """A stored document's metadata and text, rebuilt from its chunks. Lines that were
        not indexed (title, byline) are not repeated in ``text``; ``ArticleText.offset``
        maps offsets into the original article (quotes, citations) onto it."""
        row = self.manifest.doc(doc_id)
        if row is None:
            raise AkhbarError(f"no document {doc_id!r} in collection {self.config.store.collection!r}")
        chunks = self.chunks.get(list(row.chunk_ids)).values()
        return rebuild(self._document(row, self.manifest.sources_of(doc_id)), chunks)

    def stats(self) -> Stats:
        docs = self.manifest.docs()
        models = model_status(self.config)
        sel = self._selection
        dated, _ = self.manifest.date_counts()
        return Stats(
            home=str(self.config.home),
            collection=self.config.store.collection,
            documents=len(docs),
            chunks=self.chunks.count(),
            pending_vectors=self.chunks.pending_count(),
            sources=len(self.manifest.all_sources()),
            embedding_model=EmbeddingInfo(self.config.embed_name, str(self.config.embed_model_path),
                                          bool(models["embedding"]["ready"])),
            llm=LLMInfo(
                backend_setting=self.config.llm.backend,
                backend=sel.llm.backend if sel and sel.llm else None,
                model=sel.llm.model if sel and sel.llm else None,
                reason=sel.reason if sel else "not selected yet (chosen at the first question)",
                gguf=str(self.config.llm_model_path),
                ollama_host=self.config.llm.ollama_host,
                ollama_model=self.config.llm.ollama_model,
            ),
            dated_documents=dated,
        )
