"""The check stage: whether what was read stands, before anything is cited.

A copied span is withheld when it is no answer of the question's type (the read stage's
``check_span``), when the model would rather have written the refusal word
(``answer.refuse_on_none``, ``none_margin``), when its own probability is low
(``min_span_logprob``), or, if configured, when the model, asked, does not confirm it
(``min_verify_margin``). A free reply is parsed for its ``[n]`` markers and checked sentence
by sentence against the sentences shown (``rag.support``): markers on a sentence its sources
do not support are re-pointed to the source that does, a reply nothing supports is
withheld, and a reply with no markers is attributed to the sources that support it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import cast

from rag.answer.read import Reading
from rag.citations import parse_markers
from rag.config import Config
from rag.embedder import Embedder
from rag.llm import LLM, GenerationStats, Message, SpanReader
from rag.prompts import Prompts, neutralize
from rag.support import check as support_check
from rag.text import detect_language, overlap
from rag.types import RefusalReason, SentenceSupport

_PROBLEM_REASON = {"echo": RefusalReason.ECHO, "low_confidence": RefusalReason.LOW_CONFIDENCE,
                   "unverified": RefusalReason.UNVERIFIED, "none": RefusalReason.MODEL}


@dataclass(frozen=True)
class Checked:
    reading: Reading
    refusal: RefusalReason | None  # None: the reading stands
    reason: str = ""  # words for people when refused
    text: str = ""  # a free reply with its markers as checked
    numbers: tuple[int, ...] = ()  # the sources it cites
    support: tuple[SentenceSupport, ...] = ()
    invalid_markers: tuple[str, ...] = ()
    attributed: bool = False
    corrected: int | None = None
    unsupported: str | None = None
    language_mismatch: str | None = None
    span_logprob: float | None = None
    verify_margin: float | None = None


def check_copy(reading: Reading, config: Config, llm: LLM, prompts: Prompts) -> Checked:
    plan = reading.evidence.retrieved.plan
    copied = reading.copied
    assert copied is not None
    problem = reading.problem
    confidence = sum(copied.logprobs) / len(copied.logprobs) if copied.logprobs else None
    a = config.answer
    if (not problem and copied.logprobs and copied.none_logprob - copied.logprobs[0] > a.none_margin
            and (a.refuse_on_none == "on" or (a.refuse_on_none == "auto" and getattr(llm, "adapter", None)))):
        problem = "none"  # the model's first choice was the refusal word, not this span
    if not problem and a.min_span_logprob is not None and (confidence is None or confidence < a.min_span_logprob):
        problem = "low_confidence"
    margin = None
    if not problem and a.min_verify_margin is not None:
        margin = verify(llm, prompts, list(reading.messages), copied.text, plan.asked, plan.language,
                        reading.stats)
        if margin < a.min_verify_margin:
            problem = "unverified"
    if not problem and reading.located is None:
        return Checked(reading, RefusalReason.NO_SPAN, "the copied span is not in the article as written",
                       span_logprob=confidence, verify_margin=margin)
    if problem:
        return Checked(reading, _PROBLEM_REASON.get(problem, RefusalReason.NO_SPAN),
                       f"no answer of type {plan.kind} in the evidence ({problem})",
                       span_logprob=confidence, verify_margin=margin)
    return Checked(reading, None, span_logprob=confidence, verify_margin=margin)


def verify(llm: LLM, prompts: Prompts, messages: list[Message], span: str, question: str, lang: str,
           stats: GenerationStats) -> float:
    """log P(yes) - log P(no): the model, shown the evidence, the question and its own copied
    span, is asked whether the text gives that span as the answer. The conversation
    continues the copy's, so the evidence is not read again."""
    reader = cast(SpanReader, llm)
    ask = prompts.render("verify", lang, span=neutralize(span), question=neutralize(question))
    turn = [*messages, {"role": "assistant", "content": span}, {"role": "user", "content": ask}]
    options = ((("نعم", " نعم"), ("لا", " لا")) if lang == "ar"
               else (("Yes", "yes", " Yes", " yes"), ("No", "no", " No", " no")))
    yes, no = reader.choice_logprobs(turn, options, stats)
    return yes - no


def check_free(reading: Reading, embedder: Embedder, refusal_phrase: str) -> Checked:
    evidence = reading.evidence
    plan = evidence.retrieved.plan
    parsed = parse_markers(reading.raw.strip(), len(evidence.sources))
    text = parsed.text
    mismatch = None
    if is_refusal(text, refusal_phrase):
        return Checked(reading, RefusalReason.MODEL, text=refusal_phrase, invalid_markers=parsed.invalid)
    numbers: list[int] = list(parsed.numbers)
    support = support_check(text, list(evidence.sentences), embedder.embed_passages)
    text, support, corrected = correct_markers(text, support)
    if corrected:
        # The model cited a source that does not say this, while another one does.
        numbers = list(parse_markers(text, len(evidence.sources)).numbers)
    if support and not any(s.supported for s in support):
        # Nothing the model said is backed by the sources: not model memory passed off as cited.
        return Checked(reading, RefusalReason.UNSUPPORTED, text=refusal_phrase, invalid_markers=parsed.invalid,
                       corrected=corrected or None, unsupported=text)
    attributed = False
    if not numbers:
        numbers = list(dict.fromkeys(s.best_source for s in support if s.supported))
        attributed = bool(numbers)
        if attributed:
            text = text.rstrip() + " " + "".join(f"[{n}]" for n in numbers)
    if text and detect_language(text) not in (plan.language, "other"):
        mismatch = detect_language(text)
    return Checked(reading, None, text=text, numbers=tuple(numbers), support=tuple(support),
                   invalid_markers=parsed.invalid, attributed=attributed, corrected=corrected or None,
                   language_mismatch=mismatch)


def check_listing(reading: Reading) -> Checked:
    """A coverage reply is the archive's own record: every source it lists is cited."""
    return Checked(reading, None, text=reading.raw, numbers=tuple(s.number for s in reading.evidence.sources))


def correct_markers(text: str, support: list[SentenceSupport]) -> tuple[str, list[SentenceSupport], int]:
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


def is_refusal(text: str, phrase: str) -> bool:
    core = phrase.rstrip(".。").strip()
    return bool(text) and (core in text or (overlap(phrase, text) >= 0.8 and len(text) < 2 * len(phrase)))
