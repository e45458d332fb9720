"""The cite stage: the ``Answer``, built once.

It turns what was checked into the reply: a copied span becomes "span [n]." with the
citation of the sentence it came from (its offsets in the article, its page), rendered into
English first when an English question was answered from Arabic (the span alone when the
rendering changes a number); a free reply keeps its checked markers, each cited with its best
supporting sentence; a refusal says so in the question's language. Every source and
citation carries the other papers that reported the same story. Nothing is retrieved or
judged here beyond asking the model for the English rendering.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from rag.answer.decide import Decision
from rag.answer.evidence import Evidence
from rag.citations import build_citations
from rag.llm import LLM, GenerationStats
from rag.prompts import Prompts, neutralize
from rag.support import numbers_in
from rag.text import detect_language
from rag.types import (
    Answer,
    AnswerKind,
    Citation,
    Diagnostics,
    ReaderKind,
    RefusalReason,
    SentenceSupport,
    Source,
    SourceRef,
    page_at,
)

_T = TypeVar("_T", Source, Citation)
AlsoReported = Callable[[str], tuple[SourceRef, ...]]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def render_english(llm: LLM, prompts: Prompts, span: str, stats: GenerationStats) -> str:
    """The Arabic span in English, or "" when the rendering changes a number (the span
    itself is then the answer)."""
    messages = [{"role": "user", "content": prompts.render("render", "en", span=neutralize(span))}]
    out = "".join(llm.stream_chat(messages, stats)).strip().strip('"“”«»').strip()
    out = out.splitlines()[0].strip() if out else ""
    if not out or numbers_in(out) != numbers_in(span) or detect_language(out) == "ar":
        return ""
    return out


class Citer:
    def __init__(self, llm: LLM, prompts: Prompts, also_reported: AlsoReported) -> None:
        self.llm = llm
        self.prompts = prompts
        self.also_reported = also_reported

    def refusal_text(self, evidence: Evidence) -> str:
        lang = evidence.retrieved.plan.language
        if evidence.refusal is RefusalReason.EMPTY_CORPUS:
            return self.prompts.text("empty_corpus", lang)
        return self.prompts.text("no_answer", lang)

    def cite(self, evidence: Evidence, decision: Decision, started: float) -> Answer:
        """The Answer for what was decided: refused before reading (no ``checked``), or read,
        checked, and answered, quoted as passages, or refused."""
        retrieved = evidence.retrieved
        plan = retrieved.plan
        checked = decision.checked
        refusal, reason = decision.refusal, decision.reason
        text = self.refusal_text(evidence) if refusal is not None else ""
        diag: dict[str, object] = {"reason": reason, "undated_documents": retrieved.undated or None,
                                   "standalone": plan.standalone, "standalone_question": plan.standalone_question,
                                   "pending_vectors": retrieved.pending_vectors or None,
                                   "features": ({k: round(v, 4) for k, v in decision.features.items()}
                                                if decision.features else None)}
        citations: tuple[Citation, ...] = ()
        sentences: tuple[SentenceSupport, ...] = ()
        invalid: tuple[str, ...] = ()
        reading = checked.reading if checked is not None else None
        stats = reading.stats if reading is not None else GenerationStats()
        if reading is not None and reading.reader is ReaderKind.EXTRACTIVE:
            copied = reading.copied
            assert copied is not None and checked is not None
            lang = plan.language
            diag |= {"question_type": plan.kind, "span": copied.text, "span_logprob": _round(checked.span_logprob),
                     "none_logprob": round(copied.none_logprob, 4),
                     "first_logprob": round(copied.logprobs[0], 4) if copied.logprobs else None,
                     "closest_similarity": round(evidence.closest.similarity, 4),
                     "cross_language": detect_language(evidence.closest.text) not in (lang, "other"),
                     "verify_margin": _round(checked.verify_margin),
                     "candidates": tuple(c.to_dict() for c in reading.candidates) or None}
            if refusal is None:
                located = reading.located
                assert located is not None
                line = located.line
                diag["span"] = answer_text = located.text
                if lang == "en" and detect_language(answer_text) == "ar":
                    rendered = render_english(self.llm, self.prompts, answer_text, stats)
                    if rendered:
                        diag["span_rendered"] = answer_text = rendered
                text = f"{answer_text} [{line.number}]."
                source = next(s for s in evidence.sources if s.number == line.number)
                sentences = (SentenceSupport(text, (line.number,), True, line.number, 1.0, line.text, line.start,
                                             line.end, (line.number,)),)
                citations = (Citation(number=line.number, doc_id=source.doc_id, title=source.title,
                                      source_path=source.source_path, quote=line.text, quote_start=line.start,
                                      quote_end=line.end, byline=source.byline, date=source.date, site=source.site,
                                      url=source.url, span_start=located.start, span_end=located.end,
                                      page=page_at(source.pages, line.start)),)
        elif reading is not None and checked is not None:
            invalid = checked.invalid_markers
            diag |= {"corrected_citations": checked.corrected, "unsupported_answer": checked.unsupported,
                     "attributed": checked.attributed, "language_mismatch": checked.language_mismatch,
                     "repaired": reading.repaired}
            if refusal is None:
                text = checked.text
                sentences = checked.support
                citations = build_citations(checked.numbers, evidence.sources, checked.attributed, checked.support)
        if decision.kind is AnswerKind.PASSAGES:
            text, sentences, citations = self.passages(evidence, decision)
            if reading is not None and reading.reader is ReaderKind.GENERATIVE and checked is not None \
                    and checked.refusal is None:
                diag["unsupported_answer"] = checked.text
        if "fallback" in stats.extra:
            diag["fallback"] = str(stats.extra["fallback"])
        if reading is not None and reading.reader is ReaderKind.ARCHIVE:
            diag["question_type"] = f"coverage:{plan.coverage}"
        # A coverage reply lists the other papers itself.
        listing = reading is not None and reading.reader is ReaderKind.ARCHIVE
        also = {} if listing else {s.doc_id: self.also_reported(s.doc_id) for s in evidence.sources}
        sources: tuple[Source, ...] = evidence.sources
        if any(also.values()):
            sources = tuple(_with_also(s, also[s.doc_id]) for s in sources)
            citations = tuple(_with_also(c, also.get(c.doc_id, ())) for c in citations)
        return Answer(
            question=plan.question, text=text, language=plan.language, citations=citations,
            sentences=sentences, sources=sources, invalid_markers=invalid,
            backend=str(stats.extra.get("backend", self.llm.backend)),
            model=str(stats.extra.get("model", self.llm.model)),
            prompt_tokens=stats.prompt_tokens, completion_tokens=stats.completion_tokens,
            retrieval_ms=evidence.retrieval_ms, first_token_s=reading.first_token_s if reading else 0.0,
            total_s=time.perf_counter() - started, refused=refusal is not None,
            diagnostics=Diagnostics(**diag),  # type: ignore[arg-type]
            asked_at=now(), refusal_reason=refusal, reader=reading.reader if reading else ReaderKind.NONE,
            notes=retrieved.notes, window=retrieved.window.to_dict() if retrieved.window else None,
            kind=decision.kind, confidence=decision.confidence,
        )

    def passages(self, evidence: Evidence, decision: Decision
                 ) -> tuple[str, tuple[SentenceSupport, ...], tuple[Citation, ...]]:
        """No sure answer: a plain sentence, then the closest evidence sentences verbatim, each cited."""
        lines = [self.prompts.text("passages", evidence.retrieved.plan.language)]
        support: list[SentenceSupport] = []
        quoted: dict[int, SentenceSupport] = {}
        for s in decision.passages:
            line = f"«{s.text}» [{s.number}]"
            lines.append(line)
            item = SentenceSupport(line, (s.number,), True, s.number, 1.0, s.text, s.start, s.end, (s.number,))
            support.append(item)
            quoted.setdefault(s.number, item)
        citations = []
        for number, item in sorted(quoted.items()):
            source = next(src for src in evidence.sources if src.number == number)
            citations.append(Citation(number=number, doc_id=source.doc_id, title=source.title,
                                      source_path=source.source_path, quote=item.quote, quote_start=item.quote_start,
                                      quote_end=item.quote_end, byline=source.byline, date=source.date,
                                      site=source.site, url=source.url, page=page_at(source.pages, item.quote_start)))
        return "\n".join(lines), tuple(support), tuple(citations)


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _with_also(item: _T, also: tuple[SourceRef, ...]) -> _T:
    return replace(item, also=also)
