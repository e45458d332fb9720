"""The retrieve stage: every retrieval an answer makes, through ``Retriever``.

It decides whether the plan's date window is applied: not when the best article inside the
window is further from the question than ``retrieval.source_margin`` behind the best one
overall (then the time words date the event asked about, not when it was reported). Then the
question's hits, and the vectors the evidence stage scores sentences against. Nothing is
chosen for the model here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from rag.answer.plan import Archive, Plan
from rag.config import Config
from rag.retrieval import Filters, Retriever
from rag.types import Hit, ReaderKind
from rag.when import OPEN_START, Window, without


@dataclass(frozen=True)
class Retrieved:
    plan: Plan
    filters: Filters | None  # as searched, the window's dates included
    search_text: str  # what retrieval saw
    window: Window | None  # the date window applied, if any
    notes: tuple[str, ...]
    hits: tuple[Hit, ...]
    query_vec: tuple[float, ...]  # of ``search_text``
    question_vec: tuple[float, ...]  # of the question the reader answers
    empty_corpus: bool
    undated: int  # documents a date filter could not see (0 without one)
    started: float  # time.perf_counter() when the stage began
    pending_vectors: int = 0  # chunks BM25 saw but the vectors did not (ingest's phase 2 behind)


def _window_note(plan: Plan, window: Window, applied: bool) -> str:
    label = window.label("ar" if plan.language == "ar" else "en")
    if window.anchor:
        label = f"{label}، {window.anchor_label('ar')}" if plan.language == "ar" else \
            f"{label}, {window.anchor_label('en')}"
    if applied:
        return (f"البحث مقيّد بما نُشر {label} («{window.text}»)." if plan.language == "ar" else
                f"Searched what was published {label} (“{window.text}”).")
    return (f"«{window.text}»: لا مقال منشور {label} يقارب السؤال كما تقاربه مقالات خارج هذه "
            "الفترة، فبُحث في كل التواريخ." if plan.language == "ar" else
            f"“{window.text}”: nothing published {label} matches the question as well as "
            "articles outside that window do, so every date was searched.")


def _undated_note(language: str, undated: int, total: int) -> str:
    if language == "ar":
        return f"لم يشمل البحث {undated} من {total} وثيقة لأنها بلا تاريخ، والبحث مقيّد بالتاريخ."
    return f"{undated} of {total} documents have no date, so the date filter left them out."


def _lexical_note(language: str, pending: int) -> str:
    if language == "ar":
        return f"بحث معجمي فقط في جزء من الأرشيف: {pending:,} مقطعًا لم تُحسب متجهاتها بعد."
    return f"lexical only: {pending:,} chunks still waiting for vectors."


def retrieve(plan: Plan, retriever: Retriever, archive: Archive, config: Config) -> Retrieved:
    started = time.perf_counter()
    vectors: dict[str, tuple[float, ...]] = {}

    def vector(text: str) -> tuple[float, ...]:
        if text not in vectors:
            vectors[text] = tuple(retriever.embedder.embed_query(text))
        return vectors[text]

    if plan.reader is ReaderKind.ARCHIVE and (plan.focus or not plan.names_story):
        # The story is the one in focus (or none is named): nothing to search for.
        return Retrieved(plan, plan.filters, plan.asked, None, plan.notes, (), (), (), retriever.count() == 0, 0,
                         started)
    filters, search_text, window, notes = plan.filters, plan.search_text, None, list(plan.notes)
    if plan.window is not None:
        windowed = replace(filters or Filters(), date_from=plan.window.since.isoformat(),
                           date_to=plan.window.until.isoformat())
        if plan.window.since == OPEN_START:
            windowed = replace(windowed, date_from="0001-01-01")
        text = search_text or without(plan.asked, plan.window) or plan.asked
        every = [h.score for h in retriever.nearest(vector(text), 5, filters, text)]
        inside = [h.score for h in retriever.nearest(vector(text), 5, windowed, text)]
        # "How many cars did Kia sell in July 2015?" is answered by an August article.
        hides = bool(every) and (not inside or max(inside) < max(every) - config.retrieval.source_margin)
        notes.insert(0, _window_note(plan, plan.window, applied=not hides))
        if not hides:
            filters, search_text, window = windowed, text, plan.window
    search_text = search_text or plan.asked
    undated = 0
    if filters is not None and (filters.date_from or filters.date_to):
        dated, total = archive.date_counts()
        undated = total - dated
        if undated:
            notes.append(_undated_note(plan.language, undated, total))
    if retriever.count() == 0:
        return Retrieved(plan, filters, search_text, window, tuple(notes), (), (), (), True, undated, started)
    query_vec = vector(search_text)
    hits = retriever.search(search_text, plan.top_k, filters, query_vec)
    question_vec = query_vec if search_text == plan.asked else vector(plan.asked)
    pending = retriever.pending_vectors()
    if pending:
        notes.append(_lexical_note(plan.language, pending))
    return Retrieved(plan, filters, search_text, window, tuple(notes), tuple(hits), query_vec, question_vec,
                     False, undated, started, pending)
