"""Answering: retrieve, pick the sentences that matter, prompt, stream, cite.

The CPU reads prompts at ~20 tokens/s and the small model loses the thread in long
contexts, so it is not shown whole chunks: the sentences of the retrieved chunks are
scored against the question (embedding similarity plus word overlap) and the best
``retrieval.max_sentences`` are kept within ``retrieval.context_tokens``, grouped per
article in their original order. Articles whose best sentence scores well behind the best
article's (``retrieval.source_margin``) are left out: the small model answers from such
distractors. Each article is one numbered source. The instructions come after the sources
and are in the question's language (the 1.5B model answers Arabic correctly only that way).

Who / what / when / where / how many / how much questions are read by copying instead
(``Responder.extract``, ``answer.reader = "extractive"``): the evidence is clause-sized
pieces, the model may only copy a span of them (``rag.constrain``), and the span is checked
(``rag.reader``) and cited with its sentence. Why / how questions, and backends that cannot
constrain decoding, generate freely.

This module depends on the Embedder/LLM/store protocols only; it never imports a model
library itself. It does not yet split into one module per stage (evidence, read, verify,
cite): selection and both readers still live here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol, cast

from rag.citations import build_citations, overlap, parse_markers
from rag.config import BUILTIN_EMBED, Config
from rag.constrain import word_starts
from rag.embedder import Embedder
from rag.llm import LLM, GenerationStats, Message, SpanReader
from rag.prompts import Prompts, fields_of, neutralize
from rag.reader import OPEN, check_span, complete_quantity, question_type, since_starts, span_can_end, typed_starts
from rag.retrieval import Filters
from rag.support import SourceSentence, check
from rag.text import clause_spans, detect_language, fold, normalize_for_embedding, sentence_spans
from rag.types import Answer, Citation, Hit, SentenceSupport, Source, page_at


class Retriever(Protocol):
    def search(self, question: str, top_k: int, filters: Filters | None = None,
               query_vec: Sequence[float] | None = None, mode: str | None = None) -> list[Hit]: ...

    def count(self) -> int: ...

# Question-to-best-sentence cosine floors for the packaged multilingual-e5-small, each set
# where it refuses 5% of answerable questions on the XQuAD questions outside the
# 200-question sample that `akhbar eval --seed 0` reports on (946 Arabic questions over the
# Arabic paragraphs; 990 English questions over the same Arabic paragraphs). There it also
# refused 64% (Arabic) and 30% (English) of the questions whose paragraph had been held out
# of the corpus. Cross-language pairs score lower for the same match, hence their own floor.
CALIBRATED_FLOOR = 0.826
CALIBRATED_FLOOR_CROSS = 0.762


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


@dataclass(frozen=True)
class Closest:
    """The retrieved sentence nearest to the question, and its cosine."""

    similarity: float
    text: str


@dataclass
class Prepared:
    """Everything decided before generation starts."""

    question: str
    language: str
    sources: list[Source]
    messages: list[Message]
    retrieval_ms: float
    prompt_tokens: int
    refusal: str  # the exact phrase the prompt asks for when the sources lack the answer
    empty_corpus: bool = False
    hits: list[Hit] = field(default_factory=list)
    # The sentences shown to the model, with their vectors, for the support check.
    source_sentences: list[SourceSentence] = field(default_factory=list)
    closest: Closest = field(default_factory=lambda: Closest(0.0, ""))


class Responder:
    def __init__(self, config: Config, retriever: Retriever, embedder: Embedder, llm: LLM) -> None:
        self.cfg = config
        self.retriever = retriever
        self.embedder = embedder
        self.llm = llm
        self.prompts = Prompts(config.prompts_dir)

    # ------------------------------------------------------------------ retrieval

    def retrieve(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        return self.retriever.search(question, top_k or self.cfg.retrieval.top_k, filters)

    def select_sources(self, question: str, hits: Sequence[Hit], query_vec: Sequence[float] | None = None,
                       also: Sequence[Sequence[float]] = (), extractive: bool = False,
                       ) -> tuple[list[Source], list[SourceSentence], Closest]:
        """The sources to show, their sentences, and the sentence closest to the question
        (or to any vector in ``also``: a follow-up's retrieval text)."""
        candidates: list[_Candidate] = []
        seen: set[tuple[str, int]] = set()
        seen_text: set[str] = set()
        for hit in hits:
            c = hit.chunk
            words = self.cfg.answer.evidence_words if extractive else 0
            units = [u for a, b in sentence_spans(c.text)
                     for u in (clause_spans(c.text, a, b, words) if words else [(a, b)])]
            for a, b in units:
                key = (c.doc_id, c.start + a)
                norm = " ".join(normalize_for_embedding(c.text[a:b]).split()).lower()
                # A sentence is offered once: not twice from overlapping chunks, nor again
                # from another article that carries the same wire copy.
                if key not in seen and norm not in seen_text:
                    seen.add(key)
                    seen_text.add(norm)
                    candidates.append(_Candidate(hit, c.start + a, c.start + b, c.text[a:b]))
        if not candidates:
            return [], [], Closest(0.0, "")
        q = query_vec if query_vec is not None else self.embedder.embed_query(question)
        vecs = self.embedder.embed_passages([cand.text for cand in candidates])
        closest = Closest(-1.0, "")
        for cand, v in zip(candidates, vecs):
            sim = sum(x * y for x, y in zip(q, v))
            near = max([sim, *(sum(x * y for x, y in zip(other, v)) for other in also)])
            if near > closest.similarity:
                closest = Closest(near, cand.text)
            cand.vector = tuple(v)
            cand.similarity = sim
            cand.score = sim + 0.15 * overlap(question, cand.text) + 0.05 * cand.hit.score
            cand.tokens = self.llm.count_tokens(cand.text) + 1
        # Articles well behind the best one are distractors for the small model (it answers
        # and cites from them); their sentences give way to more of the leading articles.
        # An article with a sentence that clears the retrieval floor on its own stays: the
        # leader may only echo the question's words ("Russia, Iran and Turkey meet in the
        # Astana process since …" with no date) while this one holds the answer.
        language = detect_language(question)
        language = language if language in ("ar", "en") else "en"
        best_of: dict[str, float] = {}
        clears_floor: set[str] = set()
        for cand in candidates:
            doc = cand.hit.chunk.doc_id
            best_of[doc] = max(best_of.get(doc, cand.score), cand.score)
            floor = self._floor(language, cand.text)
            if floor > 0 and cand.similarity >= floor:
                clears_floor.add(doc)
        lead = max(best_of.values())
        margin = self.cfg.retrieval.source_margin
        candidates = [c for c in candidates
                      if best_of[c.hit.chunk.doc_id] >= lead - margin or c.hit.chunk.doc_id in clears_floor]
        budget = self.cfg.answer.evidence_tokens if extractive else self.cfg.retrieval.context_tokens
        most = self.cfg.answer.evidence_units if extractive else self.cfg.retrieval.max_sentences
        chosen: list[_Candidate] = []
        used = 0
        for cand in sorted(candidates, key=lambda c: c.score, reverse=True):
            # The best sentence is always kept, even if it alone exceeds the budget.
            if len(chosen) >= most:
                break
            if used + cand.tokens > budget and chosen:
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
                number=number,
                doc_id=first.doc_id,
                title=first.title,
                byline=first.byline,
                source_path=first.source_path,
                excerpt="".join(parts),
                score=max(c.hit.score for c in cands),
                chunk_ids=tuple(dict.fromkeys(c.hit.chunk.chunk_id for c in cands)),
                spans=tuple((c.start, c.end) for c in cands),
                date=first.date,
                site=first.site,
                url=first.url,
                pages=first.pages,
            ))
        return sources, shown, closest

    # ------------------------------------------------------------------- prompting

    def prepare(self, question: str, top_k: int | None = None, filters: Filters | None = None,
                search_text: str | None = None) -> Prepared:
        """``search_text`` (default: the question) is what retrieval sees; a follow-up can be
        retrieved with its context while the model is asked the question itself."""
        question = question.strip()
        language = detect_language(question)
        lang = language if language in ("ar", "en") else "en"
        refusal = self.prompts.text("no_answer", lang)
        t0 = time.perf_counter()
        if self.retriever.count() == 0:
            return Prepared(question, lang, [], [], 0.0, 0, refusal, empty_corpus=True)
        search_text = search_text or question
        query_vec = self.embedder.embed_query(search_text)
        hits = self.retriever.search(search_text, top_k or self.cfg.retrieval.top_k, filters, query_vec)
        # Sentences are chosen for the question the model will answer.
        question_vec = query_vec if search_text == question else self.embedder.embed_query(question)
        extractive = (self.cfg.answer.reader == "extractive" and hasattr(self.llm, "copy_span")
                      and question_type(question) != OPEN)
        sources, shown, closest = self.select_sources(
            question, hits, question_vec, also=[query_vec] if question_vec is not query_vec else [],
            extractive=extractive)
        retrieval_ms = (time.perf_counter() - t0) * 1000
        rendered = "\n".join(
            self.prompts.render("source", number=s.number, title=neutralize(s.title),
                                excerpt=neutralize(s.excerpt)).strip()
            + "\n"
            for s in sources
        )
        system = self.prompts.text("system", lang)
        values = {"sources": rendered.strip(), "question": neutralize(question), "no_answer": refusal}
        # The English template has no refusal clause (the 1.5B model then refuses answerable
        # questions over Arabic sources); unsupported answers are caught by the support check.
        wanted = fields_of(self.prompts.render_source("answer", lang))
        user = self.prompts.render("answer", lang, **{k: v for k, v in values.items() if k in wanted})
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        tokens = self.llm.count_tokens(system) + self.llm.count_tokens(user) + 12  # chat-template tokens
        return Prepared(question, lang, sources, messages, retrieval_ms, tokens, refusal, hits=hits,
                        source_sentences=shown, closest=closest)

    def prefix(self, language: str = "ar") -> list[Message]:
        """The messages every prompt in ``language`` starts with (what ``Akhbar.warm``
        primes): the reader's instruction, or the free answer's system prompt."""
        name = "reader" if self.cfg.answer.reader == "extractive" and hasattr(self.llm, "copy_span") else "system"
        return [{"role": "system", "content": self.prompts.text(name, language)}]

    def similarity_floor(self, prep: Prepared) -> float:
        """The least question-sentence similarity worth asking the model about: the
        configured floor, or for the packaged mE5 (``-1``, auto) the calibrated one; a
        question and sentence in different languages get the cross-language floor."""
        return self._floor(prep.language, prep.closest.text)

    def _floor(self, language: str, sentence: str) -> float:
        r = self.cfg.retrieval
        cross = detect_language(sentence) not in (language, "other")
        floor = r.min_similarity_cross if cross else r.min_similarity
        if floor >= 0:
            return floor
        if self.cfg.embed_name != BUILTIN_EMBED:
            return 0.0  # uncalibrated for another model's similarity scale
        return CALIBRATED_FLOOR_CROSS if cross else CALIBRATED_FLOOR

    # ------------------------------------------------------------------ answering

    def stream(self, question: str, top_k: int | None = None, filters: Filters | None = None,
               search_text: str | None = None) -> Iterator[str | Answer]:
        """Yield text pieces as the model writes them, then the final ``Answer``."""
        t0 = time.perf_counter()
        prep = self.prepare(question, top_k, filters, search_text)
        if prep.empty_corpus or not prep.sources:
            # Nothing to ground an answer in (empty collection, or filters matched nothing):
            # say so without asking the model, which would answer from memory.
            text = self.prompts.text("empty_corpus", prep.language) if prep.empty_corpus else prep.refusal
            yield text
            yield Answer(question=prep.question, text=text, language=prep.language, refused=True,
                         backend=self.llm.backend, model=self.llm.model, retrieval_ms=prep.retrieval_ms,
                         total_s=time.perf_counter() - t0, asked_at=_now(),
                         extra={} if prep.empty_corpus else {"reason": "no source matched the question and filters"},
                         refusal_reason="empty_corpus" if prep.empty_corpus else "no_sources")
            return
        floor = self.similarity_floor(prep)
        if prep.closest.similarity < floor:
            # No retrieved sentence is near the question: the corpus most likely does not
            # hold the answer, and the small model would answer from memory or from a
            # related article. Say so without asking it (also faster).
            yield prep.refusal
            yield Answer(question=prep.question, text=prep.refusal, language=prep.language, refused=True,
                         sources=tuple(prep.sources), backend=self.llm.backend, model=self.llm.model,
                         retrieval_ms=prep.retrieval_ms, total_s=time.perf_counter() - t0, asked_at=_now(),
                         extra={"reason": f"no retrieved sentence is close to the question (similarity "
                                          f"{prep.closest.similarity:.3f} < retrieval floor {floor:.3f})"},
                         refusal_reason="floor")
            return
        kind = question_type(prep.question)
        if kind != OPEN and self.cfg.answer.reader == "extractive" and hasattr(self.llm, "copy_span"):
            answer = self.extract(prep, kind, t0)
            yield answer.text
            yield answer
            return
        stats = GenerationStats(prompt_tokens=prep.prompt_tokens)
        pieces: list[str] = []
        held: list[str] = []  # leading pieces that are only markers/punctuation so far
        first_token_s = 0.0
        for piece in _hold_bare(self.llm.stream_chat(prep.messages, stats), held, prep.question):
            if not pieces:
                first_token_s = time.perf_counter() - t0
            pieces.append(piece)
            yield piece
        repaired = ""
        if not pieces and held:
            # The small model often names the source but not the answer ("[1]."), mostly for
            # numbers and names, or restates the question. One follow-up turn asks for the
            # answer itself; it shares the whole prompt, so llama.cpp reads only the new turn.
            # The support check then judges the repaired answer like any other.
            repaired = "".join(held)
            messages = [*prep.messages, {"role": "assistant", "content": repaired},
                        {"role": "user", "content": self.prompts.text("repair", prep.language)}]
            extra_stats = GenerationStats()
            for piece in _hold_bare(self.llm.stream_chat(messages, extra_stats), [], prep.question):
                if not pieces:
                    first_token_s = time.perf_counter() - t0
                pieces.append(piece)
                yield piece
            stats.completion_tokens += extra_stats.completion_tokens
            if not pieces:
                # Still no words: keep the first reply (the support check decides on it).
                first_token_s = time.perf_counter() - t0
                pieces = [repaired]
                yield repaired
        answer = self.finish(prep, "".join(pieces), stats, first_token_s, time.perf_counter() - t0)
        if repaired:
            answer = replace(answer, extra={**answer.extra, "repaired": repaired})
        yield answer

    def finish(self, prep: Prepared, raw: str, stats: GenerationStats, first_token_s: float,
               total_s: float) -> Answer:
        parsed = parse_markers(raw.strip(), len(prep.sources))
        text = parsed.text
        refused = _is_refusal(text, prep.refusal)
        numbers: list[int] = list(parsed.numbers)
        attributed = False
        extra: dict[str, object] = {}
        support: list[SentenceSupport] = []
        if refused:
            numbers = []
            text = prep.refusal
        else:
            support = check(text, prep.source_sentences, self.embedder.embed_passages)
            text, support, corrected = _correct_markers(text, support)
            if corrected:
                # The model cited a source that does not say this, while another one does.
                numbers = list(parse_markers(text, len(prep.sources)).numbers)
                extra["corrected_citations"] = corrected
            if support and not any(s.supported for s in support):
                # Nothing the model said is backed by the sources: do not pass off model
                # memory as a cited answer. The raw reply is kept for inspection.
                extra["unsupported_answer"] = text
                refused, text, numbers, support = True, prep.refusal, [], []
            elif not numbers:
                numbers = list(dict.fromkeys(s.best_source for s in support if s.supported))
                attributed = bool(numbers)
                if attributed:
                    text = text.rstrip() + " " + "".join(f"[{n}]" for n in numbers)
                    extra["attributed"] = True
        if "fallback" in stats.extra:
            extra["fallback"] = stats.extra["fallback"]
        if not refused and text and detect_language(text) not in (prep.language, "other"):
            extra["language_mismatch"] = detect_language(text)
        return Answer(
            question=prep.question,
            text=text,
            language=prep.language,
            citations=build_citations(numbers, prep.sources, attributed, support),
            sentences=tuple(support),
            sources=tuple(prep.sources),
            invalid_markers=parsed.invalid,
            backend=str(stats.extra.get("backend", self.llm.backend)),
            model=str(stats.extra.get("model", self.llm.model)),
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
            retrieval_ms=prep.retrieval_ms,
            first_token_s=first_token_s,
            total_s=total_s,
            refused=refused,
            extra=extra,
            asked_at=_now(),
            refusal_reason=("unsupported" if "unsupported_answer" in extra else "model") if refused else "",
            reader="generative",
        )

    def extract(self, prep: Prepared, kind: str, t0: float) -> Answer:
        """Read a ``kind`` answer by copying a span of the evidence sentences (the model
        picks where, never what), check it, and cite the sentence it came from."""
        lines = prep.source_sentences
        # The model reads, and copies from, the evidence as the prompt shows it: with any
        # chat-template control tokens and [n] markers an article carried taken out.
        shown = [neutralize(s.text) for s in lines]
        evidence = "\n".join(shown)
        line_at: list[tuple[int, SourceSentence, str]] = []
        pos = 0
        for s, text in zip(lines, shown):
            line_at.append((pos, s, text))
            pos += len(text) + 1
        lang = prep.language
        messages: list[Message] = list(self.prompts.reader_messages(lang, evidence, prep.question))
        stats = GenerationStats()
        starts = since_starts(evidence, prep.question, typed_starts(evidence, kind))
        bare_end = kind not in ("how_many", "how_much")  # may a copy end on a bare number
        none_text = self.prompts.text("reader_none", lang).strip()
        ends_when = span_can_end(kind)
        reader = cast(SpanReader, self.llm)
        limit = self.cfg.answer.max_span_tokens
        copied = reader.copy_span(messages, evidence, stats, limit, starts, bare_end, none_text, ends_when)
        problem = check_span(copied.text, prep.question, kind) if copied.stopped else "no_span"
        if problem == "echo" and copied.offsets:
            # The first choice restated the question: read again, not starting where it did.
            taken = {a for a, _ in copied.offsets}
            again = (starts if starts is not None else set(word_starts(evidence))) - taken
            copied = reader.copy_span(messages, evidence, stats, limit, again, bare_end, none_text, ends_when)
            problem = check_span(copied.text, prep.question, kind) if copied.stopped else "no_span"
        first_token_s = time.perf_counter() - t0
        confidence = sum(copied.logprobs) / len(copied.logprobs) if copied.logprobs else -99.0
        extra: dict[str, object] = {"question_type": kind, "span": copied.text,
                                    "span_logprob": round(confidence, 4),
                                    "none_logprob": round(copied.none_logprob, 4),
                                    "first_logprob": round(copied.logprobs[0], 4) if copied.logprobs else None,
                                    "closest_similarity": round(prep.closest.similarity, 4),
                                    "cross_language": detect_language(prep.closest.text) not in (lang, "other")}
        none_setting = self.cfg.answer.refuse_on_none
        if (not problem and copied.logprobs
                and copied.none_logprob - copied.logprobs[0] > self.cfg.answer.none_margin
                and (none_setting == "on" or (none_setting == "auto" and getattr(self.llm, "adapter", None)))):
            problem = "none"  # the model's first choice was the refusal word, not this span
        if not problem and confidence < self.cfg.answer.min_span_logprob:
            problem = "low_confidence"
        if not problem and self.cfg.answer.min_verify_margin > -99:
            margin = self.verify(messages, copied.text, prep.question, lang, stats)
            extra["verify_margin"] = round(margin, 4)
            if margin < self.cfg.answer.min_verify_margin:
                problem = "unverified"
        def refuse(reason: str, why: str) -> Answer:
            extra["reason"] = why
            return Answer(question=prep.question, text=prep.refusal, language=lang, refused=True,
                          sources=tuple(prep.sources), backend=self.llm.backend, model=self.llm.model,
                          prompt_tokens=stats.prompt_tokens, completion_tokens=stats.completion_tokens,
                          retrieval_ms=prep.retrieval_ms, first_token_s=first_token_s,
                          total_s=time.perf_counter() - t0, extra=extra, asked_at=_now(),
                          refusal_reason=reason, reader="extractive")

        if problem:
            reason = {"echo": "echo", "low_confidence": "low_confidence", "unverified": "unverified",
                      "none": "model"}.get(problem, "no_span")
            return refuse(reason, f"no answer of type {kind} in the evidence ({problem})")
        start, end = copied.offsets[0]
        # The evidence line the copy came from (a span never crosses a line).
        base, line, text_shown = max(((b, s, t) for b, s, t in line_at if b <= start), key=lambda x: x[0])
        if kind in ("how_many", "how_much"):
            end = complete_quantity(evidence, start, end)
            extra["span"] = evidence[start:end]
        elif kind == "event" and detect_language(text_shown) == lang:
            # "What happened" is answered by the sentence that tells it, not by a phrase cut
            # from it ("تمهيداً لاقتحامها من قِبل قوات المقاومة"): the copy only says which one.
            # Not across languages: the small model would render the whole sentence, and
            # rendering a sentence it invents more than rendering a phrase.
            told = text_shown.rstrip().rstrip(".").rstrip()  # the citation adds its own full stop
            start, end = base, base + len(told)
            extra["span"] = told
        # Back to the article's own offsets: the span is found in the original sentence.
        at = line.text.find(evidence[start:end]) if text_shown != line.text else start - base
        if at < 0:
            return refuse("no_span", "the copied span is not in the article as written")
        span_start, span_end = line.start + at, line.start + at + (end - start)
        text = str(extra["span"])
        if lang == "en" and detect_language(text) == "ar":
            rendered = self.render_english(text, stats)
            if rendered:
                extra["span_rendered"] = rendered
                text = rendered
        sentence = SentenceSupport(f"{text} [{line.number}].", (line.number,), True, line.number, 1.0, line.text,
                                   line.start, line.end, (line.number,))
        source = next(s for s in prep.sources if s.number == line.number)
        citation = Citation(number=line.number, doc_id=source.doc_id, title=source.title,
                            source_path=source.source_path, quote=line.text, quote_start=line.start,
                            quote_end=line.end, byline=source.byline, date=source.date, site=source.site,
                            url=source.url, span_start=span_start, span_end=span_end,
                            page=page_at(source.pages, line.start))
        return Answer(question=prep.question, text=f"{text} [{line.number}].", language=lang,
                      citations=(citation,), sentences=(sentence,), sources=tuple(prep.sources),
                      backend=self.llm.backend, model=self.llm.model, prompt_tokens=stats.prompt_tokens,
                      completion_tokens=stats.completion_tokens, retrieval_ms=prep.retrieval_ms,
                      first_token_s=first_token_s, total_s=time.perf_counter() - t0, extra=extra,
                      asked_at=_now(), reader="extractive")

    def verify(self, messages: list[Message], span: str, question: str, lang: str, stats: GenerationStats) -> float:
        """log P(yes) - log P(no): the model, shown the evidence, the question and its own
        copied span, is asked whether the text gives that span as the answer. The
        conversation continues the copy's, so the evidence is not read again."""
        reader = cast(SpanReader, self.llm)
        ask = self.prompts.render("verify", lang, span=neutralize(span), question=neutralize(question))
        turn = [*messages, {"role": "assistant", "content": span}, {"role": "user", "content": ask}]
        options = ((("نعم", " نعم"), ("لا", " لا")) if lang == "ar"
                   else (("Yes", "yes", " Yes", " yes"), ("No", "no", " No", " no")))
        yes, no = reader.choice_logprobs(turn, options, stats)
        return yes - no

    def render_english(self, span: str, stats: GenerationStats) -> str:
        """The Arabic span in English, or "" when the rendering changes a number (the
        span itself is then the answer)."""
        from rag.support import numbers_in

        messages = [{"role": "user", "content": self.prompts.render("render", "en", span=neutralize(span))}]
        out = "".join(self.llm.stream_chat(messages, stats)).strip().strip('"“”«»').strip()
        out = out.splitlines()[0].strip() if out else ""
        if not out or numbers_in(out) != numbers_in(span) or detect_language(out) == "ar":
            return ""
        return out


def _correct_markers(text: str, support: list[SentenceSupport]) -> tuple[str, list[SentenceSupport], int]:
    """Re-point the markers of each supported sentence whose cited sources do not support
    it on their own, to the source that does; returns the text, support and the count."""
    corrected = 0
    out: list[SentenceSupport] = []
    pos = 0
    for s in support:
        at = text.find(s.text, pos)
        if at < 0 or not s.supported or not s.cited or not s.supported_by or set(s.cited) & set(s.supported_by):
            out.append(s)
            pos = at + len(s.text) if at >= 0 else pos
            continue
        target = s.best_source if s.best_source in s.supported_by else s.supported_by[0]
        fixed = re.sub(r"(?:\[\d+\])+", f"[{target}]", s.text, count=1)
        marker = f"[{target}]"
        first = fixed.find(marker) + len(marker)
        fixed = fixed[:first] + re.sub(r"\[\d+\]", "", fixed[first:])
        text = text[:at] + fixed + text[at + len(s.text):]
        out.append(replace(s, text=fixed, cited=(target,)))
        pos = at + len(fixed)
        corrected += 1
    return text, out, corrected


_NOT_CONTENT = re.compile(r"\[\d*\]?|[\s.,،:؛\-–—]")
# Lead-ins the small model puts before a bare marker ("الإجابة هي: [1]."), spaces removed.
_LEAD_INS = ("الإجابةهي", "الاجابةهي", "الإجابة", "الجوابهو", "theansweris", "answer")


def _hold_bare(pieces: Iterable[str], held: list[str], question: str = "") -> Iterator[str]:
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


_ASKING = frozenset(fold(w) for w in (
    "متى", "ما", "ماذا", "من", "كم", "كيف", "أين", "لماذا", "هل", "أي",
    "when", "what", "who", "whom", "how", "where", "why", "which", "whose"))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(re.sub(r"\[\d*\]?", " ", text)))


def _echo(text: str, question: str) -> bool:
    """The model restating the question as its reply ("متى بدأ …؟ [1]"): a question word
    first, then only the question's own words (the last perhaps still being written)."""
    words = _words(text)
    if not question or not words or words[0] not in _ASKING:
        return False
    asked = set(_words(question))
    *whole, last = words
    return all(w in asked for w in whole) and any(w.startswith(last) for w in asked)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _is_refusal(text: str, phrase: str) -> bool:
    core = phrase.rstrip(".。").strip()
    return bool(text) and (core in text or (overlap(phrase, text) >= 0.8 and len(text) < 2 * len(phrase)))
