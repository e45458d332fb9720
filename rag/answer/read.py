"""The read stage: the model reads the evidence and answers, one ``Reader`` per plan.

``SpanReader`` (who / what / when / where / how many / how much, on an LLM that can
constrain decoding): the evidence is shown as lines, the model may only copy a span of them
(``rag.llm.constrain``) and picks where, never what; a copy that restates the question is
read again elsewhere. ``FreeReader`` (why / how / summaries, or any backend that cannot
constrain): the model writes freely, streamed piece by piece; leading pieces that are only
a marker or an echo of the question are held back, and a reply that never gets past them
is asked for once more. A reader streams ``str`` pieces and ends with its ``Reading``;
streaming is this view of the stage, not a second path. Nothing is judged here beyond
where a copy landed: the check stage decides whether it stands.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from rag.answer.evidence import Evidence, whole_sentence
from rag.answer.plan import reads_spans
from rag.answer.rank import MOST, RANKER_PATH, Candidate, load_logistic, rank
from rag.answer.rank import features as candidate_features
from rag.config import Config
from rag.llm import LLM, CopiedSpan, GenerationStats, Message, SpanReader
from rag.llm.constrain import word_starts
from rag.prompts import Prompts, fields_of, neutralize
from rag.reader import check_span, complete_quantity, since_starts, span_can_end, typed_spans, typed_starts
from rag.support import SourceSentence
from rag.text import ASKING, detect_language, fold
from rag.types import ReaderKind, Source
from rag.vectors import cosine


@dataclass(frozen=True)
class Located:
    """Where a copied span lies: its evidence line and its offsets in the article."""

    line: SourceSentence
    text: str  # the answer as copied (a quantity completed, an event's whole sentence)
    start: int  # offsets in the original article
    end: int


@dataclass(frozen=True)
class Reading:
    evidence: Evidence
    reader: ReaderKind
    stats: GenerationStats
    first_token_s: float
    raw: str = ""  # the free reply as written
    repaired: str | None = None  # a bare-marker reply that was asked again
    copied: CopiedSpan | None = None
    problem: str = ""  # why the copy is no answer (rag.reader.check_span), or ""
    located: Located | None = None
    messages: tuple[Message, ...] = field(default=())  # the reading conversation (verify continues it)
    candidates: tuple[Candidate, ...] = ()  # what the ranker weighed, best first (the read span first)


class Reader(Protocol):
    def read(self, evidence: Evidence, started: float) -> Iterator[str | Reading]: ...


def reader_prefix(config: Config, llm: LLM, prompts: Prompts, language: str) -> list[Message]:
    """The messages every prompt in ``language`` starts with (what ``Akhbar.warm`` primes)."""
    name = "reader" if reads_spans(config, llm) else "system"
    return [{"role": "system", "content": prompts.text(name, language)}]


# The question types whose copy is weighed against other candidates (rag.answer.rank), and
# how many more copies the reader makes from the next-best first tokens.
RANKED_KINDS = ("how_many", "how_much", "when", "who", "where", "which", "what")
BEAMS = 2


class CopyReader:
    """Reads by copying a span of the evidence."""

    def __init__(self, config: Config, llm: LLM, prompts: Prompts) -> None:
        self.cfg = config
        self.llm = llm
        self.prompts = prompts

    def read(self, evidence: Evidence, started: float) -> Iterator[str | Reading]:
        plan = evidence.retrieved.plan
        kind, lang = plan.kind, plan.language
        lines = evidence.sentences
        # The model reads, and copies from, the evidence as the prompt shows it.
        shown = [neutralize(s.text) for s in lines]
        text = "\n".join(shown)
        line_at: list[tuple[int, SourceSentence, str]] = []
        pos = 0
        for s, line_text in zip(lines, shown):
            line_at.append((pos, s, line_text))
            pos += len(line_text) + 1
        messages: list[Message] = list(self.prompts.reader_messages(lang, text, plan.asked))
        stats = GenerationStats()
        starts = since_starts(text, plan.asked, typed_starts(text, kind))
        bare_end = kind not in ("how_many", "how_much")  # may a copy end on a bare number
        none_text = self.prompts.text("reader_none", lang).strip()
        ends_when = span_can_end(kind)
        reader = cast(SpanReader, self.llm)
        limit = self.cfg.answer.max_span_tokens
        ranking = self.cfg.answer.rank_candidates and kind in RANKED_KINDS
        copied = reader.copy_span(messages, text, stats, limit, starts, bare_end, none_text, ends_when,
                                  alternatives=BEAMS if ranking else 0)
        problem = check_span(copied.text, plan.asked, kind) if copied.stopped else "no_span"
        if problem == "echo" and copied.offsets:
            # The first choice restated the question: read again, not starting where it did.
            taken = {a for a, _ in copied.offsets}
            again = (starts if starts is not None else set(word_starts(text))) - taken
            copied = reader.copy_span(messages, text, stats, limit, again, bare_end, none_text, ends_when)
            problem = check_span(copied.text, plan.asked, kind) if copied.stopped else "no_span"
        candidates: tuple[Candidate, ...] = ()
        if ranking:
            candidates = self._candidates(messages, text, line_at, copied, evidence, stats)
            best = candidates[0] if candidates else None
            if best is not None and not best.copied and load_logistic(RANKER_PATH) is not None:
                # Another span of the evidence outranks the model's own copy: it is read instead.
                copied = CopiedSpan(best.text, ((best.start, best.end),), best.score.logprobs, True,
                                    copied.none_logprob)
                problem = check_span(copied.text, plan.asked, kind)
        first_token_s = time.perf_counter() - started
        located = _locate(copied, text, line_at, kind, lang, lines) if not problem else None
        yield Reading(evidence, ReaderKind.EXTRACTIVE, stats, first_token_s, copied=copied, problem=problem,
                      located=located, messages=tuple(messages), candidates=candidates)

    def _candidates(self, messages: list[Message], text: str, line_at: list[tuple[int, SourceSentence, str]],
                    copied: CopiedSpan, evidence: Evidence, stats: GenerationStats) -> tuple[Candidate, ...]:
        """The copy and every span of the question's type in the evidence (``rag.reader.typed_spans``),
        the model's score of each, ranked (``rag.answer.rank``)."""
        plan = evidence.retrieved.plan
        qv = evidence.retrieved.question_vec
        sims = sorted((cosine(qv, s.vector) for s in evidence.sentences if s.vector and qv), reverse=True)
        spans: list[tuple[int, int, bool]] = []
        if copied.offsets and copied.stopped:
            spans.append((*copied.offsets[0], True))
        # The copies from the next-best first tokens, then every span of the question's type.
        spans += [(*alt.offsets[0], False) for alt in copied.alternatives
                  if alt.offsets and alt.stopped and not check_span(alt.text, plan.asked, plan.kind)]
        typed = [(a, b) for a, b in typed_spans(text, plan.kind)
                 if not any(a < e and s < b for s, e, _ in spans[:1])]  # the copy's own span is the copy

        def closeness(span: tuple[int, int]) -> float:
            line = max((x for x in line_at if x[0] <= span[0]), key=lambda x: x[0])[1]
            return cosine(qv, line.vector) if line.vector and qv else 0.0

        typed.sort(key=closeness, reverse=True)
        seen = {text[a:b].strip() for a, b, _ in spans}
        for a, b in typed:
            if len(spans) < MOST and text[a:b].strip() not in seen:  # the same words twice are one candidate
                seen.add(text[a:b].strip())
                spans.append((a, b, False))
        if len(spans) < 2:
            return ()
        reader = cast(SpanReader, self.llm)
        scores = reader.score_replies(messages, [text[a:b].strip() for a, b, _ in spans], stats)
        out = []
        for (a, b, is_copy), score in zip(spans, scores):
            base, line, line_text = max((x for x in line_at if x[0] <= a), key=lambda x: x[0])
            span = text[a:b].strip()
            out.append(Candidate(span, a, b, is_copy, score,
                                 candidate_features(span, is_copy, score, line, line_text, a - base, plan.asked,
                                                    plan.kind, qv, sims)))
        return rank(out, load_logistic(RANKER_PATH))


def _locate(copied: CopiedSpan, evidence: str, line_at: list[tuple[int, SourceSentence, str]], kind: str,
            lang: str, shown: Sequence[SourceSentence] = ()) -> Located | None:
    """The copy's line and its offsets in the article; None when it is not there as written."""
    if not copied.offsets:
        return None
    start, end = copied.offsets[0]
    # A span never crosses a line.
    base, line, text_shown = max(((b, s, t) for b, s, t in line_at if b <= start), key=lambda x: x[0])
    span = copied.text
    if kind in ("how_many", "how_much"):
        end = complete_quantity(evidence, start, end)
        span = evidence[start:end]
    elif kind == "event" and detect_language(text_shown) == lang:
        # "What happened" is answered by the sentence that tells it, not by a phrase cut from
        # it (its clause pieces joined); not across languages, where the small model would
        # render a whole sentence.
        whole = whole_sentence(line, shown)
        if whole.text == neutralize(whole.text):
            told = whole.text.rstrip().rstrip(".").rstrip()  # the citation adds its own full stop
            return Located(whole, told, whole.start, whole.start + len(told))
        told = text_shown.rstrip().rstrip(".").rstrip()
        start, end = base, base + len(told)
        span = told
    at = line.text.find(evidence[start:end]) if text_shown != line.text else start - base
    if at < 0:
        return None
    return Located(line, span, line.start + at, line.start + at + (end - start))


class FreeReader:
    """Reads by writing freely, streamed."""

    def __init__(self, config: Config, llm: LLM, prompts: Prompts) -> None:
        self.cfg = config
        self.llm = llm
        self.prompts = prompts

    def messages(self, evidence: Evidence) -> tuple[list[Message], int]:
        """The prompt (sources, question, instructions in the question's language) and its tokens."""
        plan = evidence.retrieved.plan
        lang = plan.language
        rendered = "\n".join(
            self.prompts.render("source", number=s.number, title=neutralize(s.title),
                                excerpt=neutralize(s.excerpt)).strip() + "\n"
            for s in evidence.sources
        )
        system = self.prompts.text("system", lang)
        values = {"sources": rendered.strip(), "question": neutralize(plan.asked),
                  "no_answer": self.prompts.text("no_answer", lang)}
        # The English template has no refusal clause: the support check catches what is unsupported.
        wanted = fields_of(self.prompts.render_source("answer", lang))
        user = self.prompts.render("answer", lang, **{k: v for k, v in values.items() if k in wanted})
        messages: list[Message] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return messages, self.llm.count_tokens(system) + self.llm.count_tokens(user) + 12  # template tokens

    def read(self, evidence: Evidence, started: float) -> Iterator[str | Reading]:
        plan = evidence.retrieved.plan
        messages, prompt_tokens = self.messages(evidence)
        stats = GenerationStats(prompt_tokens=prompt_tokens)
        pieces: list[str] = []
        held: list[str] = []  # leading pieces that are only markers/punctuation so far
        first_token_s = 0.0
        for piece in hold_bare(self.llm.stream_chat(messages, stats), held, plan.asked):
            if not pieces:
                first_token_s = time.perf_counter() - started
            pieces.append(piece)
            yield piece
        repaired = None
        if not pieces and held:
            # The small model often names the source but not the answer ("[1]."): one more
            # turn asks for the answer itself, sharing the whole prompt's cache.
            repaired = "".join(held)
            again = [*messages, {"role": "assistant", "content": repaired},
                     {"role": "user", "content": self.prompts.text("repair", plan.language)}]
            extra_stats = GenerationStats()
            for piece in hold_bare(self.llm.stream_chat(again, extra_stats), [], plan.asked):
                if not pieces:
                    first_token_s = time.perf_counter() - started
                pieces.append(piece)
                yield piece
            stats.completion_tokens += extra_stats.completion_tokens
            if not pieces:
                # Still no words: keep the first reply (the support check decides on it).
                first_token_s = time.perf_counter() - started
                pieces = [repaired]
                yield repaired
        yield Reading(evidence, ReaderKind.GENERATIVE, stats, first_token_s, raw="".join(pieces), repaired=repaired,
                      messages=tuple(messages))


_NOT_CONTENT = re.compile(r"\[\d*\]?|[\s.,،:؛\-–—]")
# Lead-ins the small model puts before a bare marker ("الإجابة هي: [1]."), spaces removed.
_LEAD_INS = ("الإجابةهي", "الاجابةهي", "الإجابة", "الجوابهو", "theansweris", "answer")


def hold_bare(pieces: Iterable[str], held: list[str], question: str = "") -> Iterator[str]:
    """Pass the model's pieces through, except that leading pieces with no answer yet are
    collected in ``held`` and released with the first piece that has one; a reply that
    never gets one leaves them all in ``held`` and yields nothing."""
    started = False
    for piece in pieces:
        if not started:
            so_far = "".join(held) + piece
            if _bare(so_far) or _echo(so_far, question):
                held.append(piece)
                continue
            started = True
            piece = so_far
        yield piece


def _bare(text: str) -> bool:
    """Only citation markers (or the start of one), punctuation and perhaps a lead-in
    such as "the answer is": no answer yet."""
    rest = _NOT_CONTENT.sub("", text).lower()
    return not rest or any(lead.startswith(rest) for lead in _LEAD_INS)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(re.sub(r"\[\d*\]?", " ", text)))


def _echo(text: str, question: str) -> bool:
    """The model restating the question as its reply ("متى بدأ …؟ [1]"): a question word
    first, then only the question's own words (the last perhaps still being written)."""
    words = _words(text)
    if not question or not words or words[0] not in ASKING:
        return False
    asked = set(_words(question))
    *whole, last = words
    return all(w in asked for w in whole) and any(w.startswith(last) for w in asked)


class ArchiveReader:
    """Reads a question about the coverage off the archive's records: which papers carried the
    story and when, or who wrote it. No model is asked."""

    def read(self, evidence: Evidence, started: float) -> Iterator[str | Reading]:
        text = coverage_text(evidence)
        yield text
        yield Reading(evidence, ReaderKind.ARCHIVE, GenerationStats(), time.perf_counter() - started, raw=text)


def coverage_text(evidence: Evidence) -> str:
    """The reply to a coverage question from its sources: each paper once, with its date and
    the markers of its copies; the first source is the story's own article."""
    plan = evidence.retrieved.plan
    ar = plan.language == "ar"
    lead = evidence.sources[0]
    papers: dict[str, list[Source]] = {}
    for s in evidence.sources:
        name = s.site or (f"«{s.title}»" if ar else f"“{s.title}”")
        papers.setdefault(name, []).append(s)
    lead_name = next(name for name, group in papers.items() if lead in group)

    def day(group: list[Source]) -> str:
        return min((s.date[:10] for s in group if s.date), default="")

    def on(group: list[Source]) -> str:  # "on 2015-08-02", or that it has no date
        d = day(group)
        return (f"في {d}" if d else "بلا تاريخ") if ar else (f"on {d}" if d else "with no date")

    def item(name: str, group: list[Source]) -> str:
        d = day(group) or ("بلا تاريخ" if ar else "undated")
        return f"{name} ({d}) " + "".join(f"[{s.number}]" for s in group)

    others = [item(name, group) for name, group in papers.items() if name != lead_name]
    sep = "، " if ar else ", "
    if plan.coverage == "author":
        where = item(lead_name, [lead]).rsplit(" ", 1)[0]
        if lead.byline:
            return f"كتبه {lead.byline}، {where} [1]." if ar else f"Written by {lead.byline}, {where} [1]."
        return f"لا يذكر المقال اسم كاتبه، {where} [1]." if ar else f"The article names no author, {where} [1]."
    if plan.coverage == "date":
        first = f"نُشر {on([lead])} في {lead_name} [1]." if ar else f"Published {on([lead])} in {lead_name} [1]."
        if not others:
            return first
        return f"{first} ونشرته أيضًا: {sep.join(others)}." if ar else f"{first} Also carried by: {sep.join(others)}."
    if len(papers) == 1:
        group = papers[lead_name]
        marks = "".join(f"[{s.number}]" for s in group)
        return (f"لم ينشره في هذا الأرشيف إلا {lead_name}، {on(group)} {marks}." if ar
                else f"Only {lead_name} carried it in this archive, {on(group)} {marks}.")
    items = sep.join(item(name, group) for name, group in papers.items())
    return f"نشرت الخبر: {items}." if ar else f"Reported by: {items}."


def reader_for(kind: ReaderKind, config: Config, llm: LLM, prompts: Prompts) -> Reader:
    """The reader the plan chose."""
    if kind is ReaderKind.EXTRACTIVE:
        return CopyReader(config, llm, prompts)
    if kind is ReaderKind.ARCHIVE:
        return ArchiveReader()
    return FreeReader(config, llm, prompts)
