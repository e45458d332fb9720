"""The evidence stage: the sentences of the retrieved chunks that the reader is shown.

The CPU reads prompts slowly and the small model loses the thread in long contexts, so it
is not shown whole chunks: each sentence (for a copied answer, each clause-sized piece) is
scored against the question (cosine plus word overlap plus its chunk's retrieval score) and
the best are kept within a token budget, grouped per article in their original order, each
article one numbered source. Articles well behind the best one are left out (the small
model answers and cites from such distractors), unless one of their sentences clears the
similarity floor on its own. When no sentence is near the question at all, the stage says
so, and the answer is refused without asking the model. Nothing is read here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answer.plan import Archive
from rag.answer.retrieve import Retrieved
from rag.config import Config
from rag.embedder import Embedder
from rag.reader import holds_type
from rag.retrieval import Retriever
from rag.support import SourceSentence
from rag.text import clause_spans, detect_language, normalize_for_embedding, overlap, sentence_spans
from rag.types import Hit, ReaderKind, RefusalReason, Source, SourceRef
from rag.vectors import cosine


@dataclass(frozen=True)
class Closest:
    """The retrieved sentence nearest to the question, and its cosine."""

    similarity: float
    text: str


@dataclass(frozen=True)
class Evidence:
    retrieved: Retrieved
    sources: tuple[Source, ...]
    sentences: tuple[SourceSentence, ...]  # as shown, with their vectors (the support check's)
    closest: Closest
    floor: float  # the similarity floor that applied to ``closest``
    refusal: RefusalReason | None  # empty_corpus, no_sources or floor: nothing to read
    reason: str  # words for people when refused
    retrieval_ms: float


@dataclass
class _Candidate:
    hit: Hit
    start: int  # offsets into the original article
    end: int
    text: str
    similarity: float = 0.0  # cosine to the question
    score: float = 0.0
    tokens: int = 0
    vector: tuple[float, ...] = ()


def similarity_floor(config: Config, language: str, sentence: str) -> float:
    """The least question–sentence cosine worth asking the model about; a question and a
    sentence in different languages get the cross-language floor. 0 when the floors are off
    or were fitted for another embedding model."""
    r = config.retrieval
    cross = detect_language(sentence) not in (language, "other")
    floor = r.min_similarity_cross if cross else r.min_similarity
    if floor is None or config.embed_name != r.floors_fitted_for:
        return 0.0
    return floor


def whole_sentence(piece: SourceSentence, shown: Sequence[SourceSentence]) -> SourceSentence:
    """The sentence a clause piece belongs to: the pieces of the same source that follow on
    from it without a gap, joined (the copy reader is shown sentences cut at commas). Used by
    the read stage (an event's answer) and the decide stage (passages)."""
    parts = sorted((s for s in shown if s.number == piece.number), key=lambda s: s.start)
    at = parts.index(piece)
    lo = hi = at
    while lo > 0 and 0 <= parts[lo].start - parts[lo - 1].end <= 1 and not _ends(parts[lo - 1].text):
        lo -= 1
    while hi + 1 < len(parts) and 0 <= parts[hi + 1].start - parts[hi].end <= 1 and not _ends(parts[hi].text):
        hi += 1
    if lo == hi:
        return piece
    text = parts[lo].text
    for prev, cur in zip(parts[lo:hi], parts[lo + 1:hi + 1]):
        text += " " * (cur.start - prev.end) + cur.text
    return SourceSentence(piece.number, text, parts[lo].start, parts[hi].end, piece.vector)


def _ends(text: str) -> bool:
    return text.rstrip().endswith((".", "!", "?", "؟", "…"))


def select_sources(config: Config, embedder: Embedder, count_tokens: Callable[[str], int], question: str,
                   hits: Sequence[Hit], query_vec: Sequence[float] | None = None,
                   also: Sequence[Sequence[float]] = (), extractive: bool = False, kind: str = "",
                   ) -> tuple[list[Source], list[SourceSentence], Closest]:
    """The sources to show, their sentences, and the sentence closest to the question (or
    to any vector in ``also``: a follow-up's retrieval text)."""
    candidates: list[_Candidate] = []
    seen: set[tuple[str, int]] = set()
    seen_text: set[str] = set()
    words = config.answer.evidence_words if extractive else 0
    for hit in hits:
        c = hit.chunk
        units = [u for a, b in sentence_spans(c.text)
                 for u in (clause_spans(c.text, a, b, words) if words else [(a, b)])]
        for a, b in units:
            key = (c.doc_id, c.start + a)
            norm = " ".join(normalize_for_embedding(c.text[a:b]).split()).lower()
            # Offered once: not twice from overlapping chunks, nor from another paper's copy.
            if key not in seen and norm not in seen_text:
                seen.add(key)
                seen_text.add(norm)
                candidates.append(_Candidate(hit, c.start + a, c.start + b, c.text[a:b]))
    if not candidates:
        return [], [], Closest(0.0, "")
    q = query_vec if query_vec is not None else embedder.embed_query(question)
    vecs = embedder.embed_passages([cand.text for cand in candidates])
    closest = Closest(-1.0, "")
    for cand, v in zip(candidates, vecs):
        sim = cosine(q, v)
        near = max([sim, *(cosine(other, v) for other in also)])
        if near > closest.similarity:
            closest = Closest(near, cand.text)
        cand.vector = tuple(v)
        cand.similarity = sim
        cand.score = sim + 0.15 * overlap(question, cand.text) + 0.05 * cand.hit.score
        if extractive and kind and holds_type(cand.text, kind):  # measured for the copy reader only
            cand.score += config.answer.evidence_type_bonus
        cand.tokens = count_tokens(cand.text) + 1
    detected = detect_language(question)
    language = detected if detected in ("ar", "en") else "en"
    best_of: dict[str, float] = {}
    clears_floor: set[str] = set()
    for cand in candidates:
        doc = cand.hit.chunk.doc_id
        best_of[doc] = max(best_of.get(doc, cand.score), cand.score)
        floor = similarity_floor(config, language, cand.text)
        if floor > 0 and cand.similarity >= floor:
            clears_floor.add(doc)
    lead = max(best_of.values())
    margin = config.retrieval.source_margin
    candidates = [c for c in candidates
                  if best_of[c.hit.chunk.doc_id] >= lead - margin or c.hit.chunk.doc_id in clears_floor]
    budget = config.answer.evidence_tokens if extractive else config.retrieval.context_tokens
    most = config.answer.evidence_units if extractive else config.retrieval.max_sentences
    chosen: list[_Candidate] = []
    used = 0
    for cand in sorted(candidates, key=lambda c: c.score, reverse=True):
        if len(chosen) >= most:
            break
        if used + cand.tokens > budget and chosen:  # the best sentence is kept even over budget
            continue
        chosen.append(cand)
        used += cand.tokens
    by_doc: dict[str, list[_Candidate]] = {}
    for cand in chosen:
        by_doc.setdefault(cand.hit.chunk.doc_id, []).append(cand)
    ordered = sorted(by_doc.values(), key=lambda cs: max(c.score for c in cs), reverse=True)
    sources = []
    shown: list[SourceSentence] = []
    for number, cands in enumerate(ordered, start=1):
        cands.sort(key=lambda c: c.start)
        parts: list[str] = []
        prev_end = None
        for cand in cands:
            shown.append(SourceSentence(number, cand.text, cand.start, cand.end, cand.vector))
            if prev_end is not None:
                parts.append(" " if cand.start - prev_end <= 2 else " … ")
            parts.append(cand.text)
            prev_end = cand.end
        first = cands[0].hit.chunk
        sources.append(Source(
            number=number, doc_id=first.doc_id, title=first.title, byline=first.byline,
            source_path=first.source_path, excerpt="".join(parts), score=max(c.hit.score for c in cands),
            chunk_ids=tuple(dict.fromkeys(c.hit.chunk.chunk_id for c in cands)),
            spans=tuple((c.start, c.end) for c in cands), date=first.date, site=first.site, url=first.url,
            pages=first.pages,
        ))
    return sources, shown, closest


def gather_coverage(retrieved: Retrieved, retriever: Retriever, archive: Archive,
                    also_reported: Callable[[str], tuple[SourceRef, ...]]) -> Evidence:
    """For a question about the coverage: the story's article (the one in focus, else the best
    hit) and every other paper's copy or report of it, one numbered source each, its lead
    sentence as the excerpt."""
    plan = retrieved.plan
    ms = (time.perf_counter() - retrieved.started) * 1000
    if retrieved.empty_corpus:
        return Evidence(retrieved, (), (), Closest(0.0, ""), 0.0, RefusalReason.EMPTY_CORPUS, "", ms)
    focus = plan.focus[0] if plan.focus else (retrieved.hits[0].chunk.doc_id if retrieved.hits else "")
    row = archive.doc(focus) if focus else None
    if row is None:
        return Evidence(retrieved, (), (), Closest(0.0, ""), 0.0, RefusalReason.NO_SOURCES,
                        "no story in focus: ask about one first, or name it in the question", ms)
    first = next(iter(archive.sources_of(focus)), None)
    refs = [SourceRef(first.source if first else focus, "original", row.title, row.site, row.date, row.url, focus),
            *also_reported(focus)]
    others = dict.fromkeys(r.doc_id for r in refs if r.doc_id and r.doc_id != focus)
    rows = {focus: row} | {d: archive.doc(d) for d in others}
    leads = retriever.get_chunks([r.chunk_ids[0] for r in rows.values() if r is not None and r.chunk_ids])
    sources = []
    for number, ref in enumerate(refs, start=1):
        doc = ref.doc_id if rows.get(ref.doc_id) is not None else focus
        own = rows[doc]
        chunk = leads.get(own.chunk_ids[0]) if own.chunk_ids else None
        a, b = next(iter(sentence_spans(chunk.text)), (0, 0)) if chunk is not None else (0, 0)
        start = chunk.start if chunk is not None else 0
        sources.append(Source(number=number, doc_id=doc, title=ref.title or own.title, byline=own.byline,
                              source_path=ref.source, excerpt=chunk.text[a:b] if chunk is not None else ref.title,
                              score=1.0, chunk_ids=(chunk.chunk_id,) if chunk is not None else (),
                              spans=((start + a, start + b),), date=ref.date, site=ref.site, url=ref.url,
                              pages=chunk.pages if chunk is not None else ""))
    return Evidence(retrieved, tuple(sources), (), Closest(0.0, ""), 0.0, None, "", ms)


def gather(retrieved: Retrieved, config: Config, embedder: Embedder, count_tokens: Callable[[str], int]) -> Evidence:
    plan = retrieved.plan
    if retrieved.empty_corpus:
        return Evidence(retrieved, (), (), Closest(0.0, ""), 0.0, RefusalReason.EMPTY_CORPUS, "",
                        (time.perf_counter() - retrieved.started) * 1000)
    also = [retrieved.query_vec] if retrieved.search_text != plan.asked else []
    sources, shown, closest = select_sources(config, embedder, count_tokens, plan.asked, retrieved.hits,
                                             retrieved.question_vec, also=also,
                                             extractive=plan.reader is ReaderKind.EXTRACTIVE, kind=plan.kind)
    retrieval_ms = (time.perf_counter() - retrieved.started) * 1000
    floor = similarity_floor(config, plan.language, closest.text)
    refusal, reason = None, ""
    if not sources:
        refusal, reason = RefusalReason.NO_SOURCES, "no source matched the question and filters"
    elif closest.similarity < floor:
        # Nothing retrieved is near the question: the small model would answer from memory.
        refusal, reason = RefusalReason.FLOOR, (f"no retrieved sentence is close to the question (similarity "
                                                f"{closest.similarity:.3f} < retrieval floor {floor:.3f})")
    return Evidence(retrieved, tuple(sources), tuple(shown), closest, floor, refusal, reason, retrieval_ms)
