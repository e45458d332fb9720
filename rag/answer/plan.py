"""The plan stage: what is asked, in which language, of which type, read how, and within
which dates.

A ``Request`` (the caller's question, filters and, in a conversation, the turns before it)
becomes a ``Plan``: a follow-up rewritten into a standalone question (prompts ``rewrite_*``),
the question type, the reader chosen once (a copied span for factoid types when the LLM can
constrain decoding, else free generation), and the date window of the time words the user
typed ("أمس", "last week"; a follow-up without any keeps those of the question it follows,
never an answer's words), resolved against the reference day: today, or, when the archive
holds nothing that recent, its newest article's date (the window says so). Whether that window is applied is
decided by the retrieve stage, which can see what lies inside it. Nothing is retrieved here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Protocol

from rag.config import Config
from rag.errors import AkhbarError, ConfigError
from rag.llm import LLM, GenerationStats
from rag.prompts import Prompts
from rag.reader import OPEN, question_type
from rag.retrieval import Filters
from rag.text import (
    ARABIC_CHAR,
    COVERAGE_AR,
    COVERAGE_EN,
    COVERAGE_WORDS,
    content_words,
    detect_language,
    fold,
    interrogative,
    strip_clitic,
)
from rag.types import ReaderKind
from rag.when import Window, find_window

HISTORY_TURNS = 3
_LABEL = re.compile(r"^\s*(?:السؤال(?: المعاد صياغته| الجديد)?|(?:rewritten |standalone |new )?question)\s*[:：]\s*",
                    re.IGNORECASE)


class Archive(Protocol):
    """What the plan needs to know about the collection's dates."""

    def date_counts(self) -> tuple[int, int]: ...

    def newest_date(self) -> str: ...

    def doc(self, doc_id: str) -> Any: ...

    def sources_of(self, doc_id: str) -> Any: ...


@dataclass(frozen=True)
class Turn:
    """An earlier exchange of a conversation: the question as the user wrote it, and the reply."""

    question: str
    reply: str
    cited: tuple[str, ...] = ()  # the documents the reply cited, first first


@dataclass(frozen=True)
class Request:
    question: str
    top_k: int | None = None
    filters: Filters | None = None
    search_text: str | None = None  # what retrieval sees instead of the question
    as_of: str | date | None = None  # "today" for time words
    time_filter: bool = True  # False: time words stay words
    history: tuple[Turn, ...] | None = None  # a conversation's earlier turns (None: not a conversation)


@dataclass(frozen=True)
class Plan:
    request: Request
    question: str  # as the user wrote it
    asked: str  # what the reader answers: the standalone rewrite of a faithful follow-up
    search_text: str | None  # what retrieval sees, when not the question
    language: str  # "ar" or "en": of the prompts and the reply
    kind: str  # rag.reader.question_type of ``asked``
    reader: ReaderKind
    top_k: int
    filters: Filters | None
    window: Window | None  # the time words' window, when dates can be filtered on
    notes: tuple[str, ...] = ()
    standalone: str | None = None  # in a conversation: asked, rewritten or context
    standalone_question: str | None = None
    coverage: str | None = None  # a question about the coverage: "papers", "date" or "author"
    focus: tuple[str, ...] = ()  # the story's document, when the conversation says which
    names_story: bool = True  # the question itself says which story (else it points at one in focus)


def reference_date(config: Config, archive: Archive, as_of: str | date | None = None) -> date:
    """What "today" is for time expressions: ``as_of``, else ``answer.as_of`` ("" = the day
    it is asked, "newest" = the newest article date in the collection)."""
    value = as_of if as_of is not None else config.answer.as_of
    if isinstance(value, date):
        return value
    if value == "newest":
        newest = archive.newest_date()
        return date.fromisoformat(newest) if newest else date.today()
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError as e:
            raise ConfigError(f"as_of must be an ISO date (YYYY-MM-DD) or newest, not {value!r}") from e
    return date.today()


def reads_spans(config: Config, llm: LLM) -> bool:
    """Whether factoid questions are read by copying: configured, and the LLM can constrain."""
    return config.answer.reader == "extractive" and hasattr(llm, "copy_span")


class Planner:
    def __init__(self, config: Config, llm: LLM, archive: Archive, prompts: Prompts) -> None:
        self.cfg = config
        self.llm = llm
        self.archive = archive
        self.prompts = prompts

    def plan(self, request: Request) -> Plan:
        question = request.question.strip() if request.question else ""
        if not question:
            raise AkhbarError("the question is empty")
        asked, search_text, standalone, rewritten = question, request.search_text, None, None
        coverage = coverage_aspect(question)
        if coverage is not None:
            # Answered from the archive's records of the story in focus: nothing to rewrite.
            focus = next((t.cited[:1] for t in reversed(request.history or ()) if t.cited), ())
            named = bool({w for w in re.findall(r"\w+", fold(question)) if strip_clitic(w) not in COVERAGE_WORDS
                          and w not in COVERAGE_WORDS})
            detected = detect_language(question)
            return Plan(request, question, question, search_text, detected if detected in ("ar", "en") else "en",
                        "coverage", ReaderKind.ARCHIVE, request.top_k or self.cfg.retrieval.top_k, request.filters,
                        None, coverage=coverage, focus=focus, names_story=named)
        if request.history is not None:
            rewritten, standalone = self.standalone(question, request.history)
            # A faithful rewrite is asked as is; otherwise the question is asked as the user
            # wrote it and only retrieval sees the previous question alongside it.
            asked = rewritten if standalone != "context" else question
            search_text = rewritten
        detected = detect_language(asked)
        language = detected if detected in ("ar", "en") else "en"
        kind = question_type(asked)
        reader = (ReaderKind.EXTRACTIVE if kind != OPEN and reads_spans(self.cfg, self.llm)
                  else ReaderKind.GENERATIVE)
        filters = request.filters
        window: Window | None = None
        notes: tuple[str, ...] = ()
        if request.time_filter and self.cfg.answer.time_filters and not (filters and (filters.date_from
                                                                                      or filters.date_to)):
            reference = reference_date(self.cfg, self.archive, request.as_of)
            # Time words count only as the user wrote them: a rewrite may carry the last
            # answer's words ("منذ يناير2017"), which were never asked about.
            typed = [question] if request.history is None else [question, *(t.question for t in request.history[-1:])]
            window = _first_window(typed, reference)
            newest = self.archive.newest_date() if request.as_of is None and not self.cfg.answer.as_of else ""
            if window is not None and newest and window.since > date.fromisoformat(newest[:10]):
                # Nothing in the archive is that recent: "yesterday" means the day before
                # its newest article, not before today's date.
                again = _first_window(typed, date.fromisoformat(newest[:10]))
                if again is not None:
                    window = replace(again, anchor=newest[:10])
        if window is not None and self.archive.date_counts()[0] == 0:
            # An archive without dates cannot be searched by date: the words stay in the
            # question and the answer says they were not applied.
            notes = ((f"«{window.text}»: لا تحمل وثائق هذا الأرشيف تاريخًا، فلم يُقيَّد البحث بالتاريخ."
                      if language == "ar" else
                      f"“{window.text}”: no document in this archive has a date, so no date filter was applied."),)
            window = None
        return Plan(request, question, asked, search_text, language, kind, reader,
                    request.top_k or self.cfg.retrieval.top_k, filters, window, notes, standalone,
                    rewritten if rewritten is not None and rewritten != question else None)

    def standalone(self, question: str, history: tuple[Turn, ...]) -> tuple[str, str]:
        """(question to retrieve and answer with, how it was made: asked/rewritten/context)."""
        if not history:
            return question, "asked"
        lang = detect_language(question)
        lines = "\n".join(f"- {t.question}\n  {t.reply}" for t in history[-HISTORY_TURNS:])
        user = self.prompts.render("rewrite", lang if lang in ("ar", "en") else "en", history=lines,
                                   question=question)
        raw = "".join(self.llm.stream_chat([{"role": "user", "content": user}], GenerationStats()))
        rewritten = clean_rewrite(raw, question)
        if rewritten:
            return rewritten, "rewritten"
        # No faithful rewrite: carry the previous question along, so retrieval and the model
        # still see what "it"/"they" refers to.
        return f"{history[-1].question} — {question}", "context"


def coverage_aspect(question: str) -> str | None:
    """"papers", "date" or "author" when ``question`` asks about the coverage itself ("ما
    الصحف التي نشرت هذا الخبر؟", "Which newspapers reported it?"), else None."""
    q = re.sub(r"^(و|ف)(?=(من|ما|متى|اي)\b)", "", fold(question).strip().lstrip("«\"'(“ "))
    for aspect, pattern in (COVERAGE_AR if ARABIC_CHAR.search(q) else COVERAGE_EN):
        if re.search(fold(pattern), q):
            return aspect
    return None


def _first_window(texts: list[str], reference: date) -> Window | None:
    return next((w for w in (find_window(t, reference) for t in texts) if w is not None), None)


def clean_rewrite(raw: str, question: str) -> str | None:
    """The model's standalone rewrite, or None when it is not a faithful question: the
    small model often drops the question word ("how many") or answers instead."""
    line = next((ln.strip() for ln in raw.strip().splitlines() if ln.strip()), "")
    line = _LABEL.sub("", line).strip().strip('"“”«»\'')
    if not line or len(line) > 3 * len(question) + 120 or detect_language(line) != detect_language(question):
        return None
    wanted = interrogative(question)
    if wanted and interrogative(line) != wanted:
        return None
    asked = content_words(question)
    if asked and len(asked & content_words(line)) / len(asked) < 0.5:
        return None
    return line
