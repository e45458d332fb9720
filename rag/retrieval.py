"""Retrieval: dense (mE5 in Chroma), lexical (BM25) or hybrid (reciprocal rank fusion of
both), with metadata filters (date range, site, language).

Every hit carries the dense cosine similarity to the question, also for chunks only BM25
found (their stored vectors are read back), so downstream scoring and thresholds see one
scale whatever the mode. While ingest's vector phase is behind (``rag.vector_phase``), BM25
sees every chunk (``rag.chunks.ChunkTable``) and the vectors those that have them: a chunk
still waiting that makes the final few is embedded then, and kept. This module decides what
is retrieved, not what is shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.chunks import ChunkTable
from rag.embedder import Embedder
from rag.errors import ConfigError
from rag.lexical import BM25Index, rrf
from rag.sites import site_aliases, site_table
from rag.store import ChromaStore, date_num
from rag.text import EASTERN_DIGITS, detect_language
from rag.types import Chunk, Hit
from rag.vector_phase import VectorPhase, passage_text
from rag.vectors import cosine

MODES = ("hybrid", "dense", "bm25")
_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Filters:
    date_from: str = ""  # ISO date, inclusive
    date_to: str = ""
    sites: tuple[str, ...] = field(default=())
    languages: tuple[str, ...] = field(default=())
    exclude: tuple[str, ...] = field(default=())  # document ids left out (an article already read)

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value and not date_num(value):
                raise ConfigError(f"filter {name} must be an ISO date (YYYY-MM-DD), not {value!r}")

    def empty(self) -> bool:
        return not (self.date_from or self.date_to or self.sites or self.languages or self.exclude)

    def where(self, sites: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        """The Chroma ``where`` clause (dates compare as YYYYMMDD numbers). With a site
        table (``rag.sites``), a site given by id, host or name matches all of them."""
        conds: list[dict[str, Any]] = []
        if self.date_from:
            conds.append({"date_num": {"$gte": date_num(self.date_from)}})
        if self.date_to:
            conds.append({"date_num": {"$lte": date_num(self.date_to)}})
        if self.date_from and not self.date_to:
            conds.append({"date_num": {"$gt": 0}})  # undated articles are not "after" anything
        if self.sites:
            wanted = site_aliases(self.sites, sites) if sites is not None else self.sites
            conds.append({"site": {"$in": list(wanted)}})
        if self.languages:
            conds.append({"language": {"$in": list(self.languages)}})
        if self.exclude:
            conds.append({"doc_id": {"$nin": list(self.exclude)}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}

    def to_dict(self) -> dict[str, Any]:
        return {"date_from": self.date_from, "date_to": self.date_to, "sites": list(self.sites),
                "languages": list(self.languages)} | ({"exclude": list(self.exclude)} if self.exclude else {})


class Retriever:
    def __init__(self, store: ChromaStore, embedder: Embedder, bm25: BM25Index | None,
                 generation: Callable[[], int], mode: str = "hybrid", candidates: int = 50,
                 sites: Mapping[str, str] | None = None, *, chunks: ChunkTable,
                 vectors: VectorPhase | None = None) -> None:
        if mode not in MODES:
            raise ConfigError(f"retrieval.mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.store = store
        self.chunks = chunks
        self.vectors = vectors
        self.embedder = embedder
        self.bm25 = bm25
        self.generation = generation
        self.mode = mode
        self.candidates = candidates
        self.sites = site_table(sites)

    def count(self) -> int:
        """Chunks stored, with or without their vectors."""
        return self.chunks.count()

    def pending_vectors(self) -> int:
        """Chunks BM25 finds but the vectors do not yet (ingest's phase 2 is behind)."""
        return self.chunks.pending_count()

    def get_chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        return self.chunks.get(ids)

    def lexical_similarity(self, text: str, own: str, chunk_ids: Sequence[str]) -> dict[str, float]:
        """BM25 of each chunk for ``text`` as a share of ``own``'s (rag.lexical); empty
        without a lexical index."""
        if self.bm25 is None or not chunk_ids:
            return {}
        return self.bm25.similarity(text, own, chunk_ids, self.generation(), self.chunks.all_texts)

    def nearest(self, vector: Sequence[float], k: int, filters: Filters | dict[str, Any] | None = None,
                text: str = "") -> list[Hit]:
        """The ``k`` chunks nearest ``vector`` by the vectors alone, within ``filters`` (or a
        Chroma ``where`` clause). With ``text`` (what ``vector`` embeds), while vectors are
        behind, the best lexical candidates still waiting are embedded and compete too."""
        where = filters.where(self.sites) if isinstance(filters, Filters) else filters
        hits = self.store.query(list(vector), k, where)
        if text and self.bm25 is not None and self.chunks.pending_count():
            have = {h.chunk.chunk_id for h in hits}
            lexical = [cid for cid, _ in self.bm25.search(text, k * (4 if where else 1), self.generation(),
                                                           self.chunks.all_texts)]
            caught = self._waiting_scored([cid for cid in lexical if cid not in have], vector, where, k)
            if caught:
                hits = sorted(hits + caught, key=lambda h: h.score, reverse=True)[:k]
        return hits

    def _waiting_scored(self, candidates: list[str], qv: Sequence[float], where: dict[str, Any] | None,
                        most: int | None = None) -> list[Hit]:
        """The first ``most`` of ``candidates`` still waiting for vectors, embedded now (and
        kept) and scored against ``qv``: while vectors are behind they compete by cosine."""
        stored = self.chunks.embedded(candidates)
        waiting = [cid for cid in candidates if cid not in stored][:most]
        return self._with_scores(waiting, qv, where) if waiting else []

    def search(self, question: str, top_k: int, filters: Filters | None = None,
               query_vec: Sequence[float] | None = None, mode: str | None = None) -> list[Hit]:
        mode = mode or self.mode
        where = filters.where(self.sites) if filters else None
        qv = list(query_vec) if query_vec is not None else self.embedder.embed_query(question)
        n = max(self.candidates, top_k)
        if mode == "dense" or self.bm25 is None:
            return self.store.query(qv, top_k, where) if mode != "bm25" else []
        scores: dict[str, float] = dict(self.store.query_ids(qv, n, where)) if mode != "bm25" else {}
        lexical = [cid for cid, _ in self.bm25.search(question, n * (4 if where else 1), self.generation(),
                                                       self.chunks.all_texts)]
        if mode == "hybrid" and self.chunks.pending_count():
            # While vectors are behind, the best lexical candidates still waiting are embedded
            # now (and kept): in the fusion they would otherwise lack the dense vote that the
            # chunks embedded earlier get, and lose to them whatever their text.
            caught = self._waiting_scored([cid for cid in lexical[:top_k] if cid not in scores], qv, where)
            if caught:
                scores |= {h.chunk.chunk_id: h.score for h in caught}
                scores = dict(sorted(scores.items(), key=lambda kv: kv[1], reverse=True))
        if mode == "bm25":
            order = lexical
        else:
            fused = rrf([list(scores), self._in_question_language(lexical, question)])
            order = sorted(fused, key=lambda cid: fused[cid], reverse=True)
        # Texts (and, for lexical-only candidates, vectors) of the final top_k only, a window
        # at a time: a lexical candidate may be excluded by the filters.
        out: list[Hit] = []
        pos = 0
        while len(out) < top_k and pos < len(order):
            window = order[pos: pos + (top_k - len(out)) * (2 if where else 1)]
            pos += len(window)
            known = [cid for cid in window if cid in scores]
            hits: dict[str, Hit] = {}
            if known:
                for cid, chunk in self.chunks.get(known).items():
                    hits[cid] = Hit(chunk=chunk, score=scores[cid])
            missing = [cid for cid in window if cid not in scores]
            if missing:
                for hit in self._with_scores(missing, qv, where):
                    hits[hit.chunk.chunk_id] = hit
            out.extend(hits[cid] for cid in window if cid in hits)
        return out[:top_k]

    def _in_question_language(self, ids: list[str], question: str) -> list[str]:
        """For an English question, the lexical candidates in English, and those in another
        language that hold one of its numbers. In Arabic articles BM25 otherwise matches an
        English question's stray tokens only (e-mail addresses, Latin brand names), and in
        the fusion those pushed the right article out of the top 5 for English questions over
        the 20k-article Arabic archive (0.77 of them found against 0.83 by the vectors alone;
        bench/scale_news.py). A year or a figure is the one word two languages share. An
        Arabic question's Latin words are names ("أرباح Mobily") and match English articles
        for a reason, so its candidates all stay (and it pays no look-up)."""
        if not ids or detect_language(question) != "en":
            return ids
        numbers = set(_NUMBER.findall(question.translate(EASTERN_DIGITS)))
        chunks = self.chunks.get(ids)
        return [cid for cid in ids if cid in chunks and (
            chunks[cid].language in ("en", "")
            or numbers & set(_NUMBER.findall(chunks[cid].text.translate(EASTERN_DIGITS))))]

    def _with_scores(self, ids: list[str], qv: Sequence[float], where: dict[str, Any] | None) -> list[Hit]:
        chunks = self.chunks.get(ids, where)
        vectors: dict[str, list[float]] = {}
        embedded = self.chunks.embedded(list(chunks))
        if embedded:
            _, vectors = self.store.get_chunks_with_vectors(list(embedded))
        waiting = [chunks[cid] for cid in chunks if cid not in embedded]
        if waiting and self.vectors is not None:
            vectors.update(self.vectors.embed_now(waiting))
        # Stored by another process that this one's embedded Chroma client does not see yet
        # (or no vector phase here): computed for this answer, not written again.
        unseen = [chunks[cid] for cid in chunks if cid not in vectors]
        if unseen:
            vectors.update({c.chunk_id: v for c, v in zip(
                unseen, self.embedder.embed_passages([passage_text(c) for c in unseen]))})
        return [Hit(chunk=chunks[cid], score=float(cosine(qv, vectors[cid])))
                for cid in ids if cid in chunks and cid in vectors]
