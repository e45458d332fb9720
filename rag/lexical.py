"""BM25 over the stored chunks (bm25s), with Arabic-aware analysis.

Analysis: NFKC, diacritics and tatweel out, alef/yaa/taa-marbuta unified, Eastern digits
to Western, lower case, stop words out, then the Snowball stemmer of the word's script
(PyStemmer's Arabic for Arabic letters, English for Latin). The index lives beside the
Chroma data (``<home>/bm25/<collection>``) with the manifest generation it was built at;
a changed collection is re-indexed from the chunk texts Chroma already holds, so BM25 and
the vector store can never disagree about what exists.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import StoreError
from rag.text import (
    ARABIC_CHAR,
    ARTICLE_CLITICS,
    EASTERN_DIGITS,
    LEXICAL_STOP,
    LEXICAL_UNIFY,
    normalize_for_embedding,
)

_TOKEN = re.compile(r"\w+")


@lru_cache(maxsize=2)
def _stemmer(lang: str) -> Any:
    import Stemmer

    return Stemmer.Stemmer(lang)


def analyze(text: str) -> list[str]:
    """Text → BM25 terms (see module docstring)."""
    norm = normalize_for_embedding(text).lower().translate(LEXICAL_UNIFY).translate(EASTERN_DIGITS)
    # Numbers are kept (years, counts) except single digits; stop words are dropped.
    words = [w for w in _TOKEN.findall(norm) if (len(w) > 1 if w.isdigit() else w not in LEXICAL_STOP)]
    # Snowball's Arabic stemmer removes "ال" but not a conjunction or preposition glued in
    # front of it ("والاجتماعات", "بالجيش"): drop that letter first.
    words = [w[1:] if len(w) > 5 and w[:3] in ARTICLE_CLITICS else w for w in words]
    ar = [w for w in words if ARABIC_CHAR.search(w)]
    la = [w for w in words if not ARABIC_CHAR.search(w)]
    stems_ar = dict(zip(ar, _stemmer("arabic").stemWords(ar))) if ar else {}
    stems_la = dict(zip(la, _stemmer("english").stemWords(la))) if la else {}
    return [(stems_ar.get(w) or stems_la.get(w) or w) for w in words]


class BM25Index:
    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self._lock = threading.Lock()
        self._retriever: Any = None
        self._ids: list[str] = []
        self._index_of: dict[str, int] | None = None
        self._generation: int | None = None

    def _load_or_build(self, generation: int, fetch: Callable[[], tuple[list[str], list[str]]]) -> None:
        if self._retriever is not None and self._generation == generation:
            return
        with self._lock:
            if self._retriever is not None and self._generation == generation:
                return
            stamp = self.dir / "akhbar.json"
            try:
                meta = json.loads(stamp.read_text()) if stamp.exists() else {}
            except (OSError, json.JSONDecodeError):
                meta = {}
            if meta.get("generation") == generation and (self.dir / "ids.json").exists():
                try:
                    import bm25s

                    self._retriever = bm25s.BM25.load(str(self.dir / "index"))
                    self._ids = json.loads((self.dir / "ids.json").read_text())
                    self._index_of = None
                    self._generation = generation
                    return
                except Exception:
                    pass  # unreadable index: rebuild below
            ids, texts = fetch()
            self._build(ids, texts, generation)

    def _build(self, ids: list[str], texts: list[str], generation: int) -> None:
        import bm25s

        self._ids = list(ids)
        self._index_of = None
        self._generation = generation
        if not ids:
            self._retriever = None
            return
        retriever = bm25s.BM25()
        retriever.index([analyze(t) or ["\u0000"] for t in texts], show_progress=False)
        self._retriever = retriever
        tmp = self.dir.with_name(self.dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            retriever.save(str(tmp / "index"))
            (tmp / "ids.json").write_text(json.dumps(self._ids))
            (tmp / "akhbar.json").write_text(json.dumps({"generation": generation, "chunks": len(ids)}))
            shutil.rmtree(self.dir, ignore_errors=True)
            tmp.rename(self.dir)
        except OSError as e:
            raise StoreError(f"cannot save the BM25 index at {self.dir}: {e}") from e

    def search(self, query: str, top_k: int, generation: int,
               fetch: Callable[[], tuple[list[str], list[str]]]) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; ``fetch`` supplies (ids, texts) for a rebuild."""
        self._load_or_build(generation, fetch)
        terms = analyze(query)
        if self._retriever is None or not terms:
            return []
        k = min(top_k, len(self._ids))
        docs, scores = self._retriever.retrieve([terms], k=k, show_progress=False, n_threads=1)
        return [(self._ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0]) if s > 0]

    def similarity(self, text: str, own: str, chunk_ids: Sequence[str], generation: int,
                   fetch: Callable[[], tuple[list[str], list[str]]]) -> dict[str, float]:
        """BM25 of each of ``chunk_ids`` for ``text`` as the query, as a share of the score
        of ``own`` (the stored chunk holding ``text``): how much of a chunk's rare words
        another chunk shares, 1.0 for itself. Chunks not indexed are left out."""
        self._load_or_build(generation, fetch)
        terms = analyze(text)
        if self._retriever is None or not terms:
            return {}
        if self._index_of is None:
            self._index_of = {cid: i for i, cid in enumerate(self._ids)}
        scores = self._retriever.get_scores(terms)
        top = float(scores[self._index_of[own]]) if own in self._index_of else float(scores.max())
        if top <= 0:
            return {}
        return {c: float(scores[self._index_of[c]]) / top for c in chunk_ids if c in self._index_of}


def rrf(rankings: Sequence[Sequence[str]], k: int = 10) -> dict[str, float]:
    """Reciprocal rank fusion: sum over rankings of 1 / (k + rank). k=10 rather than the
    customary 60, which recalled less on XQuAD-ar (docs/decisions.md)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank)
    return fused
