"""The decide stage: which kind of reply the checked reading earns, and how sure it is.

Three kinds (``AnswerKind``): a short answer, the closest passages when the sources hold
something but no answer is sure, or a refusal when nothing relevant was retrieved. A
copied span is scored by a logistic model over features of the span, its sentence, its
source and the model's own probabilities (``features``); its coefficients are plain JSON
(``confidence.json`` beside this module, refitted by ``akhbar calibrate --confidence``) and
the least probability that earns a short answer is ``answer.min_confidence`` ("off": every
span the check let through is answered, as before this stage). A free reply is an answer
only when the support check backs every sentence of it. Nothing is read or retrieved here;
the cite stage renders what is decided.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from rag.answer.check import Checked
from rag.answer.evidence import Evidence, whole_sentence
from rag.answer.rank import Logistic, load_logistic
from rag.config import Config
from rag.prompts import neutralize
from rag.support import SourceSentence, numbers_in
from rag.text import content_words, detect_language, fold, overlap
from rag.text.words import DAY_WORDS, MONTH_WORDS
from rag.types import AnswerKind, ReaderKind, RefusalReason
from rag.vectors import cosine

MODEL_PATH = Path(__file__).with_name("confidence.json")
PASSAGES = 3  # evidence sentences quoted when no answer is sure
FEATURES = ("span_logprob", "first_logprob", "none_margin", "closest_similarity", "line_similarity", "line_rank",
            "source_rank", "question_in_sentence", "question_in_source", "type_match", "echo", "span_words",
            "cross_language", "english", "ranked", "rank_margin", "logprob_margin")
_DIGIT = re.compile(r"\d")
_DATE_WORDS = frozenset(fold(f"{MONTH_WORDS} {DAY_WORDS}").split())


@dataclass(frozen=True)
class Decision:
    checked: Checked | None  # None: refused before reading
    kind: AnswerKind
    confidence: float | None  # P(right) of a copied span; None when not estimated
    features: dict[str, float]
    passages: tuple[SourceSentence, ...] = ()  # quoted when ``kind`` is PASSAGES
    refusal: RefusalReason | None = None  # why no short answer (None for an answer)
    reason: str = ""


# The confidence model is the ranker's kind of model (``rag.answer.rank``).
ConfidenceModel = Logistic


def load_model(path: Path = MODEL_PATH) -> ConfidenceModel | None:
    """The fitted model, or None when none has been fitted (no file)."""
    return load_logistic(path)


def type_match(kind: str, span: str) -> float:
    """1 when the span is of the question's answer type, 0 when it is not, 0.5 when the
    type says nothing (what/which/event questions)."""
    has_number = bool(_DIGIT.search(span) or numbers_in(span))
    if kind in ("how_many", "how_much"):
        return float(has_number)
    if kind == "when":
        return float(has_number or bool(set(fold(span).split()) & _DATE_WORDS))
    if kind in ("who", "where"):
        return float(not _DIGIT.search(span))
    return 0.5


def features(checked: Checked) -> dict[str, float]:
    """What the confidence model reads about a copied span (``FEATURES``, all numbers)."""
    reading = checked.reading
    evidence = reading.evidence
    plan = evidence.retrieved.plan
    copied = reading.copied
    assert copied is not None
    located = reading.located
    question_vec = evidence.retrieved.question_vec
    line = located.line if located is not None else None
    sims = sorted((cosine(question_vec, s.vector) for s in evidence.sentences if s.vector), reverse=True)
    line_sim = cosine(question_vec, line.vector) if line is not None and line.vector else 0.0
    source = next((s for s in evidence.sources if line is not None and s.number == line.number), None)
    first = copied.logprobs[0] if copied.logprobs else -10.0
    span = located.text if located is not None else copied.text
    cands = reading.candidates
    ranked = len(cands) >= 2
    return {
        "span_logprob": checked.span_logprob if checked.span_logprob is not None else -10.0,
        "first_logprob": first,
        "none_margin": copied.none_logprob - first if copied.none_logprob else 0.0,
        "closest_similarity": evidence.closest.similarity,
        "line_similarity": line_sim,
        "line_rank": math.log1p(sum(1 for s in sims if s > line_sim + 1e-9)) if line is not None else 3.0,
        "source_rank": 1.0 / line.number if line is not None else 0.0,
        "question_in_sentence": overlap(plan.asked, line.text) if line is not None else 0.0,
        "question_in_source": overlap(plan.asked, source.excerpt) if source is not None else 0.0,
        "type_match": type_match(plan.kind, span),
        "echo": overlap(span, plan.asked) if content_words(span) else 1.0,
        "span_words": math.log1p(len(span.split())),
        "cross_language": float(line is not None and detect_language(line.text) not in (plan.language, "other")),
        "english": float(plan.language == "en"),
        # How far the read span stands ahead of the runner-up among the candidates (rag.answer.rank).
        "ranked": float(ranked),
        "rank_margin": cands[0].rank - cands[1].rank if ranked else 0.0,
        "logprob_margin": (cands[0].features["logprob_mean"] - max(c.features["logprob_mean"] for c in cands[1:])
                           if ranked else 0.0),
    }


def closest_passages(evidence: Evidence, count: int = PASSAGES, first: SourceSentence | None = None
                     ) -> tuple[SourceSentence, ...]:
    """The evidence sentences nearest the question, best first: ``first`` (the sentence the
    reader copied its unsure span from) leads, then by cosine plus the share of the
    question's words they hold, plus a little for holding a number when the question asks
    for one. Each sentence is whole (its clause pieces joined); one of fewer than four words
    says nothing on its own and is left out, and so is one carrying a chat template's control
    tokens or a citation marker (injected text: shown, it would read as Akhbar's own words)."""
    plan = evidence.retrieved.plan
    qv = evidence.retrieved.question_vec
    numeric = plan.kind in ("how_many", "how_much", "when")

    def score(s: SourceSentence) -> float:
        near = cosine(qv, s.vector) if s.vector and qv else 0.0
        return near + 0.5 * overlap(plan.asked, s.text) + (0.1 if numeric and _DIGIT.search(s.text) else 0.0)

    ranked = sorted(evidence.sentences, key=score, reverse=True)
    out: list[SourceSentence] = []
    for piece in ([first] if first is not None else []) + ranked:
        s = whole_sentence(piece, evidence.sentences) if piece in evidence.sentences else piece
        if (len(s.text.split()) < 4 or neutralize(s.text) != s.text
                or any(o.number == s.number and o.start < s.end and s.start < o.end for o in out)):
            continue
        out.append(s)
        if len(out) == count:
            break
    return tuple(out)


def decide(evidence: Evidence, checked: Checked | None, config: Config,
           model: ConfidenceModel | None = None) -> Decision:
    """The kind of reply, its confidence, and the passages to quote when unsure (``model``:
    the fitted one by default)."""
    if checked is None:
        return Decision(None, AnswerKind.REFUSAL, None, {}, refusal=evidence.refusal, reason=evidence.reason)
    reading = checked.reading
    threshold = config.answer.min_confidence
    feats: dict[str, float] = {}
    confidence = None
    if reading.reader is ReaderKind.EXTRACTIVE and reading.copied is not None:
        feats = features(checked)
        model = model or load_model()
        if model is not None:
            confidence = model.probability(feats)
    if reading.reader is ReaderKind.ARCHIVE or threshold is None:
        kind = AnswerKind.ANSWER if checked.refusal is None else AnswerKind.REFUSAL
        return Decision(checked, kind, confidence, feats, refusal=checked.refusal, reason=checked.reason)
    refusal, reason = checked.refusal, checked.reason
    if refusal is None and reading.reader is ReaderKind.GENERATIVE and not all(s.supported for s in checked.support):
        refusal, reason = RefusalReason.UNSUPPORTED, "a sentence of the reply is not backed by the sources"
    if refusal is None and confidence is not None and confidence < threshold:
        refusal, reason = RefusalReason.UNSURE, f"confidence {confidence:.2f} below {threshold:.2f}"
    if refusal is None:
        return Decision(checked, AnswerKind.ANSWER, confidence, feats)
    located = reading.located
    passages = closest_passages(evidence, first=located.line if located is not None else None)
    kind = AnswerKind.PASSAGES if passages else AnswerKind.REFUSAL
    return Decision(checked, kind, confidence, feats, passages, refusal, reason)
