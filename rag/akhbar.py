"""``Akhbar``: the one entry object of the Python API.

    bot = Akhbar.open()                  # Config.load(): AKHBAR_HOME, TOML, env
    bot.ingest("seeds/")                 # idempotent
    ans = bot.ask("…")                   # Answer with [n] markers and Citations
    for piece in bot.ask_stream("…"): …  # str pieces, then the Answer

It wires config → store, embedders and LLM (each loaded lazily, once per object) and
drives the ingest pipeline; the logic lives in ``rag.answer`` and ``ingest``. Ingest embeds
through ``embedder`` (sentence-transformers); answering through ``query_embedder``, the same
model computed without torch where ``rag.bert`` can, so a process that only asks starts fast.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from rag.answer import Responder
from rag.config import Config, check_fields
from rag.embedder import Embedder, SentenceTransformerEmbedder
from rag.errors import AkhbarError, BackendError, ConfigError, ModelError
from rag.llm import LLM, Selection, select_llm
from rag.retrieval import Filters, Retriever
from rag.store import ChromaStore
from rag.text import detect_language
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
    TimelineEntry,
)
from rag.when import Window


def story_linked(cosine: float, share: float, high: float, low: float, lexical: float) -> bool:
    """The same-story rule: a cosine of at least ``high``, or of at least ``low`` with a BM25
    share of at least ``lexical`` (0: the cosine alone). ``bench/stories.py`` fits it."""
    return cosine >= high or (lexical > 0 and cosine >= low and share >= lexical)


class Akhbar:
    def __init__(self, config: Config, embedder: Embedder | None = None, llm: LLM | None = None) -> None:
        self.config = config
        self._embedder = embedder
        self._query_embedder: Embedder | None = embedder
        self._selection = Selection(llm, "given by the caller") if llm is not None else None
        self._store: ChromaStore | None = None
        self._manifest: Any = None
        self._retriever: Retriever | None = None
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
                        from rag.embedder import OllamaEmbedder

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
        caller gave one, Ollama embeds, or ``embed.query_engine`` says so; else the NumPy
        engine over the same local model (same vectors, no torch import)."""
        if self._query_embedder is None:
            with self._lock:
                if self._query_embedder is None:
                    engine = self.config.embed.query_engine
                    path = self.config.embed_model_path
                    if (self.config.embed.backend != "ollama" and engine != "sentence-transformers"
                            and path.exists()):
                        from rag.bert import supports

                        if supports(path):
                            from rag.embedder import NumpyEmbedder

                            self._query_embedder = NumpyEmbedder(path, name=self.config.embed.model)
                            return self._query_embedder
                        if engine == "numpy":
                            raise ModelError(f"embed.query_engine = numpy cannot run {path}: "
                                             "it computes mean-pooled BERT sentence-transformers folders only")
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
    def manifest(self) -> Any:
        """The ``ingest.manifest.Manifest`` of this collection (documents and their sources)."""
        if self._manifest is None:
            with self._lock:
                if self._manifest is None:
                    from ingest.manifest import Manifest

                    self._manifest = Manifest(self.config.manifest_path, self.config.store.collection)
        return self._manifest

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
                    from rag.lexical import BM25Index

                    bm25 = BM25Index(self.config.home / "bm25" / self.config.store.collection)
                    self._retriever = Retriever(self.store, self.query_embedder, bm25, self.manifest.generation,
                                                mode=self.config.retrieval.mode,
                                                candidates=self.config.retrieval.candidates,
                                                sites=self.config.ingest.site_map)
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
        other._lock, other._slots = self._lock, self._slots
        return other

    def _responder(self) -> Responder:
        llm = self.llm
        # llama.cpp loads a model in C without holding the GIL: started first, the load
        # overlaps opening the store and the lexical index (~1.4 s of a cold `akhbar ask`).
        preload = getattr(llm, "preload", None)
        if preload is not None:
            preload()
        return Responder(self.config, self.retriever, self.query_embedder, llm)

    # ---------------------------------------------------------------- ingest

    def ingestor(self, fields: Mapping[str, str] | None = None) -> Any:
        """The ingest pipeline; ``fields`` maps JSON field names over ``ingest.fields``."""
        from ingest.formats import Limits
        from ingest.pipeline import Ingestor

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
                        near_threshold=ic.near_duplicate_threshold, sites=ic.site_map)

    def ingest(self, *paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], prune: bool = False,
               progress: Callable[[Any], None] | None = None, fields: Mapping[str, str] | None = None) -> Any:
        """Ingest files, directories, zips and URLs (feeds or pages); returns an ``IngestReport``.
        Idempotent; ``prune`` also removes documents whose files are gone. ``fields``: JSON
        field names for this archive, e.g. ``{"date": "crawl_time", "site": "paper"}``."""
        flat: list[str | os.PathLike[str]] = []
        for p in paths:
            if isinstance(p, (str, os.PathLike)):
                flat.append(p)
            else:
                flat.extend(p)
        return self.ingestor(fields).ingest(flat, prune=prune, progress=progress)

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
            prime(self._responder().prefix(language))
        return time.perf_counter() - t0

    def retrieve(self, question: str, top_k: int | None = None, filters: Filters | None = None,
                 mode: str | None = None) -> list[Hit]:
        return self.retriever.search(question, top_k or self.config.retrieval.top_k, filters, mode=mode)

    def ask_stream(self, question: str, top_k: int | None = None, filters: Filters | None = None,
                   search_text: str | None = None, *, as_of: str | date | None = None,
                   time_filter: bool = True) -> Iterator[str | Answer]:
        """Text pieces as they are generated, then the final ``Answer`` (always last).
        ``search_text`` overrides what retrieval sees (conversations use it). A time
        expression in the question ("أمس", "last week") becomes a date filter, resolved
        against ``as_of`` (default: ``answer.as_of``), unless ``filters`` has dates or
        ``time_filter`` is False; the Answer carries the ``window`` and says so in a note."""
        if not question or not question.strip():
            raise AkhbarError("the question is empty")
        return self._queued(question, top_k, filters, search_text, as_of, time_filter)

    def reference_date(self, as_of: str | date | None = None) -> date:
        """What "today" is for time expressions: ``as_of``, else ``answer.as_of`` ("" = the
        day it is asked, "newest" = the newest article date in the collection)."""
        value = as_of if as_of is not None else self.config.answer.as_of
        if isinstance(value, date):
            return value
        if value == "newest":
            newest = self.manifest.newest_date()
            return date.fromisoformat(newest) if newest else date.today()
        if value:
            try:
                return date.fromisoformat(value)
            except ValueError as e:
                raise ConfigError(f"as_of must be an ISO date (YYYY-MM-DD) or newest, not {value!r}") from e
        return date.today()

    def time_window(self, question: str, as_of: str | date | None = None) -> Window | None:
        """The date window of the first time expression in ``question``, or None."""
        from rag.when import find_window

        return find_window(question, self.reference_date(as_of))

    def _queued(self, question: str, top_k: int | None, filters: Filters | None,
                search_text: str | None, as_of: str | date | None = None,
                time_filter: bool = True) -> Iterator[str | Answer]:
        # A bounded queue: the model answers one question at a time, so waiting questions
        # are capped rather than left to pile up behind it.
        if not self._slots.acquire(blocking=False):
            raise BackendError(f"busy: {self.config.llm.queue_size} questions are already being answered or "
                               "waiting (llm.queue_size); try again shortly")
        try:
            window, note = None, ""
            if time_filter and self.config.answer.time_filters and not (filters and (filters.date_from
                                                                                      or filters.date_to)):
                window = self.time_window(question, as_of)
            if window is not None:
                from rag.when import OPEN_START, without

                language = detect_language(question)
                if self.manifest.date_counts()[0] == 0:
                    # An archive without dates cannot be searched by date: the words stay in
                    # the question and the answer says they were not applied.
                    note = (f"«{window.text}»: لا تحمل وثائق هذا الأرشيف تاريخًا، فلم يُقيَّد البحث بالتاريخ."
                            if language == "ar" else
                            f"“{window.text}”: no document in this archive has a date, so no date filter was applied.")
                    window = None
                else:
                    windowed = replace(filters or Filters(), date_from=window.since.isoformat(),
                                       date_to=window.until.isoformat())
                    if window.since == OPEN_START:
                        windowed = replace(windowed, date_from="0001-01-01")
                    text = search_text or without(question, window) or question
                    label = window.label("ar" if language == "ar" else "en")
                    if self._window_hides_the_story(text, filters, windowed):
                        # "How many cars did Kia sell in July 2015?" is answered by an August
                        # article: the words date the event, not the reporting.
                        note = (f"«{window.text}»: لا مقال منشور {label} يقارب السؤال كما تقاربه مقالات خارج هذه "
                                "الفترة، فبُحث في كل التواريخ." if language == "ar" else
                                f"“{window.text}”: nothing published {label} matches the question as well as "
                                "articles outside that window do, so every date was searched.")
                        window = None
                    else:
                        filters, search_text = windowed, text
                        note = (f"البحث مقيّد بما نُشر {label} («{window.text}»)." if language == "ar" else
                                f"Searched what was published {label} (“{window.text}”).")
            for item in self._responder().stream(question, top_k, filters, search_text):
                if isinstance(item, Answer):
                    item = self._with_also(item)
                    if note:
                        item = replace(item, notes=(note, *item.notes),
                                       window=window.to_dict() if window else None)
                    if filters is not None and (filters.date_from or filters.date_to):
                        item = self._undated_note(item)
                yield item
        finally:
            self._slots.release()

    def same_story(self, doc_id: str, floor: float | None = None, lexical: bool = True) -> list[tuple[str, float]]:
        """Other documents on the same story, best first, published within
        ``retrieval.story_days`` of this one (any date when it has none): their chunk
        nearest to this document's lead has a cosine of at least ``floor``
        (``retrieval.story_similarity``), or of at least ``retrieval.story_similarity_low``
        while sharing at least ``retrieval.story_lexical`` of the lead's BM25 weight (the
        rare names, places and figures: two papers' rewrites of one match report word it
        differently but name the same players). Rewrites of one event by several papers,
        which ingest keeps apart. ``lexical=False``: the cosine alone."""
        rc = self.config.retrieval
        floor = rc.story_similarity if floor is None else floor
        share = rc.story_lexical if lexical else 0.0
        low = min(floor, rc.story_similarity_low) if share > 0 else floor
        return [(d, cos) for d, cos, lex in self.story_links(doc_id, floor=low)
                if story_linked(cos, lex, floor, rc.story_similarity_low, share)]

    def story_links(self, doc_id: str, floor: float | None = None,
                    lexical: bool | None = None) -> list[tuple[str, float, float]]:
        """The candidates ``same_story`` judges: (document, cosine of its chunk nearest to
        this document's lead, that chunk's BM25 share of the lead), best cosine first, for
        the 40 chunks nearest the lead within ``story_days`` whose cosine is at least
        ``floor`` (default: the lower of the two story floors). The BM25 share is computed
        when ``lexical`` (default: when ``story_lexical`` is on), else 0."""
        from datetime import timedelta

        from rag.retrieval import date_num

        rc = self.config.retrieval
        row = self.manifest.doc(doc_id)
        if row is None or not row.chunk_ids:
            return []
        if floor is None:
            floor = min(rc.story_similarity, rc.story_similarity_low if rc.story_lexical > 0 else 1.0)
        lead = row.chunk_ids[0]
        chunks, vectors = self.store.get_chunks_with_vectors([lead])
        if lead not in vectors:
            return []
        where = None
        if row.date:
            try:
                day = date.fromisoformat(row.date[:10])
            except ValueError:
                day = None
            if day is not None:
                span = timedelta(days=rc.story_days)
                where = {"$and": [{"date_num": {"$gte": date_num((day - span).isoformat())}},
                                  {"date_num": {"$lte": date_num((day + span).isoformat())}}]}
        best: dict[str, tuple[float, str]] = {}
        for hit in self.store.query(vectors[lead], 40, where):
            other = hit.chunk.doc_id
            if other != doc_id and hit.score >= floor and hit.score > best.get(other, (-2.0, ""))[0]:
                best[other] = (hit.score, hit.chunk.chunk_id)
        shares: dict[str, float] = {}
        if best and (rc.story_lexical > 0 if lexical is None else lexical):
            shares = self.retriever.lexical_similarity(chunks[lead].text, lead, [c for _, c in best.values()])
        out = [(d, cos, shares.get(cid, 0.0)) for d, (cos, cid) in best.items()]
        return sorted(out, key=lambda t: -t[1])

    def also_reported(self, doc_id: str, stories: bool = True) -> tuple[SourceRef, ...]:
        """The other papers and dates that carried a stored story: the copies merged into
        it at ingest (syndicated or re-published), then, with ``stories``, the other
        documents on the same story (``same_story``, relation "same-story"). Each with its
        paper, date, title and URL; not the document's own."""
        row = self.manifest.doc(doc_id)
        own = {(row.site, row.url)} if row else set()
        out = []
        for s in self.manifest.sources_of(doc_id):
            if (s.site, s.url) in own or (s.relation == "original" and not (s.site or s.url)):
                continue
            out.append(SourceRef(s.source, s.relation, s.title, s.site, s.date, s.url))
        if stories:
            for other, _ in self.same_story(doc_id):
                o = self.manifest.doc(other)
                if o is None:
                    continue
                first = next(iter(self.manifest.sources_of(other)), None)
                out.append(SourceRef(first.source if first else other, "same-story", o.title, o.site, o.date, o.url))
                out.extend(SourceRef(s.source, s.relation, s.title, s.site, s.date, s.url)
                           for s in self.manifest.sources_of(other)
                           if s.relation != "original" and (s.site, s.url) != (o.site, o.url) and (s.site or s.url))
        seen: set[tuple[str, str]] = set()
        unique = []
        for ref in out:
            if (ref.site, ref.url or ref.source) not in seen:
                seen.add((ref.site, ref.url or ref.source))
                unique.append(ref)
        return tuple(sorted(unique, key=lambda r: (r.date or "9999", r.site)))

    def timeline(self, query: str, filters: Filters | None = None, floor: float | None = None,
                 most: int = 200) -> Timeline:
        """The articles on ``query`` in date order. Every article whose best chunk has a
        cosine of at least ``floor`` (``retrieval.timeline_similarity``) with the query is
        listed, not a top k, and so is every article on the same story as one of them
        (``same_story``, one step): forty papers on one story all appear. Each comes
        with the sentence that best matches the query; articles are grouped into stories,
        merged copies under their article."""
        from rag.citations import overlap
        from rag.text import sentence_spans

        if not query or not query.strip():
            raise AkhbarError("the timeline query is empty")
        floor = self.config.retrieval.timeline_similarity if floor is None else floor
        where = filters.where(self.config.ingest.site_map) if filters is not None else None
        allowed = None
        if where is not None:  # what the filters let through, for the articles the stories add
            allowed = {str(m.get("doc_id", "")) for m in self.store.doc_chunk_meta(where).values()}
        vector = self.query_embedder.embed_query(query)
        text_of: dict[str, str] = {}
        score_of: dict[str, float] = {}
        for hit in self.store.query(vector, most, where):
            d = hit.chunk.doc_id
            if hit.score >= floor and hit.score > score_of.get(d, -1.0):
                score_of[d], text_of[d] = hit.score, hit.chunk.text
        # The stories of the articles found: their same-story neighbours.
        parent = {d: d for d in score_of}

        def root(d: str) -> str:
            while parent[d] != d:
                parent[d] = parent[parent[d]]
                d = parent[d]
            return d

        # One step from the articles found, not a closure: chains of near neighbours run
        # from one Yemen battle to the next. By the cosine alone: the names the lexical rule
        # links by (a base, a company) are shared by the next story about them; with those
        # links the timeline's precision on the report stories fell to 0.66 (bench/stories.py).
        for d in list(score_of):
            for other, _ in self.same_story(d, lexical=False):
                if allowed is not None and other not in allowed:
                    continue
                parent.setdefault(other, other)
                parent[root(other)] = root(d)
        rows = {d: self.manifest.doc(d) for d in parent}
        added = [d for d in parent if d not in text_of and rows[d] is not None]
        if added:
            chunks = self.store.get_chunks([c for d in added for c in rows[d].chunk_ids])
            for d in added:
                text_of[d] = " ".join(chunks[c].text for c in rows[d].chunk_ids if c in chunks)
        order = sorted((d for d in parent if rows[d] is not None),
                       key=lambda d: (rows[d].date or "9999", -score_of.get(d, 0.0)))
        numbers: dict[str, int] = {}
        entries = []
        for d in order:
            row = rows[d]
            assert row is not None
            text = text_of.get(d, "")
            sentences = [text[a:b] for a, b in sentence_spans(text)] or [text]
            sentence = max(sentences, key=lambda s: (overlap(query, s), -abs(len(s) - 160)))
            story = numbers.setdefault(root(d), len(numbers) + 1)
            first = next(iter(self.manifest.sources_of(d)), None)
            entries.append(TimelineEntry(d, row.date, row.site, row.title, row.url, first.source if first else "",
                                         sentence.strip(), round(score_of.get(d, 0.0), 4), story,
                                         self.also_reported(d, stories=False)))
        return Timeline(query, tuple(entries), floor, sum(1 for e in entries if not e.date))

    def _with_also(self, answer: Answer) -> Answer:
        if not answer.sources:
            return answer
        also = {s.doc_id: self.also_reported(s.doc_id) for s in answer.sources}
        if not any(also.values()):
            return answer
        return replace(answer, sources=tuple(replace(s, also=also[s.doc_id]) for s in answer.sources),
                       citations=tuple(replace(c, also=also.get(c.doc_id, ())) for c in answer.citations))

    def _window_hides_the_story(self, text: str, filters: Filters | None, windowed: Filters) -> bool:
        """Whether the best article inside a question's date window is further from the
        question than ``retrieval.source_margin`` behind the best one overall: then the
        time words date the event asked about, not when it was reported."""
        vector = self.query_embedder.embed_query(text)
        sites = self.config.ingest.site_map
        every = [h.score for h in self.store.query(vector, 5, filters.where(sites) if filters else None)]
        inside = [h.score for h in self.store.query(vector, 5, windowed.where(sites))]
        if not every:
            return False
        return not inside or max(inside) < max(every) - self.config.retrieval.source_margin

    def _undated_note(self, answer: Answer) -> Answer:
        """A date filter cannot see undated documents: say how many there are."""
        dated, total = self.manifest.date_counts()
        undated = total - dated
        if not undated:
            return answer
        if answer.language == "ar":
            note = f"لم يشمل البحث {undated} من {total} وثيقة لأنها بلا تاريخ، والبحث مقيّد بالتاريخ."
        else:
            note = f"{undated} of {total} documents have no date, so the date filter left them out."
        return replace(answer, notes=(*answer.notes, note), extra={**answer.extra, "undated_documents": undated})

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None, *,
            as_of: str | date | None = None, time_filter: bool = True) -> Answer:
        answer = None
        for item in self.ask_stream(question, top_k, filters, as_of=as_of, time_filter=time_filter):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def conversation(self, filters: Filters | None = None) -> Any:
        """A new ``Conversation``: follow-ups are rewritten with their context before retrieval."""
        from rag.conversation import Conversation

        return Conversation(self, filters)

    def chat(self, messages: list[dict[str, Any]], top_k: int | None = None, filters: Filters | None = None) -> Answer:
        """Answer the last user message of a chat, using the earlier turns as context."""
        from rag.conversation import Conversation

        conv, question = Conversation.from_messages(self, messages, filters)
        return conv.ask(question, top_k)

    # ----------------------------------------------------------------- stats

    def _document(self, row: Any, sources: list[Any]) -> Document:
        return Document(doc_id=row.doc_id, title=row.title, byline=row.byline, date=row.date, site=row.site,
                        url=row.url, language=row.language, chunks=len(row.chunk_ids), status=row.status,
                        content_hash=row.content_hash,
                        sources=tuple(SourceRef(s.source, s.relation, s.title, s.site, s.date, s.url)
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
        chunks = sorted(self.store.get_chunks(list(row.chunk_ids)).values(), key=lambda c: c.start)
        parts: list[str] = []
        segments: list[tuple[int, int, int]] = []
        length = 0
        end = 0
        for c in chunks:
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
        return ArticleText(self._document(row, self.manifest.sources_of(doc_id)), "".join(parts), tuple(segments))

    def stats(self) -> Stats:
        from rag.models import status

        docs = self.manifest.docs()
        models = status(self.config)
        sel = self._selection
        dated, _ = self.manifest.date_counts()
        return Stats(
            home=str(self.config.home),
            collection=self.config.store.collection,
            documents=len(docs),
            chunks=self.store.count(),
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


def article_offset(article: ArticleText | dict[str, Any], offset: int) -> int | None:
    """Map an offset into the original document onto the article's text (None when it
    falls in a part that was not indexed)."""
    if isinstance(article, ArticleText):
        return article.offset(offset)
    for orig, at, n in article.get("segments", []):
        if orig <= offset <= orig + n:
            return int(at + offset - orig)
    return None
