"""Candidate answers to a typed question, and the linear ranker that picks one of them.

The copy reader's greedy copy is one guess; the right number or date often stands beside it
in the same evidence ("3,83 مليارات يوان" next to "1,36 مليون شخص"). For how many / how much /
when questions, every span of the expected type in the evidence (``rag.reader.typed_spans``)
is a candidate beside the copy. Each is scored by the model itself (its log-probability of
giving exactly that reply, read after the same prompt: ``SpanReader.score_replies``) and by
features of where it stands (its sentence's closeness to the question, its distance to the
question's words there, whether its unit or currency fits the question). A standardised
logistic model over ``RANK_FEATURES`` (``ranker.json`` beside this module, refitted by
``akhbar calibrate --ranker``) scores each; the best is read. Without a fitted ranker, the
copy stands. Also the logistic model the decide stage's confidence uses (``Logistic``),
which lives here because both stages use it. Nothing here asks the model for anything but
the scores, or decides whether the answer stands (the check and decide stages do).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.llm import ReplyScore
from rag.reader import check_span, is_money
from rag.support import SourceSentence
from rag.text import content_words, fold, overlap, strip_clitic
from rag.vectors import cosine

RANKER_PATH = Path(__file__).with_name("ranker.json")
MOST = 8  # candidates scored by the model (each one short forward pass)
RANK_FEATURES = ("logprob_mean", "logprob_first", "logprob_end", "copied", "line_similarity", "line_rank",
                 "question_in_sentence", "near_question", "source_rank", "unit_asked", "money_how_much",
                 "money_how_many", "echo", "span_words", "type_ok", "logprob_rel", "end_rel")
_WORD = re.compile(r"\w+")
_DIGIT = re.compile(r"[0-9٠-٩]")


@dataclass(frozen=True)
class Logistic:
    """Standardised logistic regression: P = σ(b + Σ wᵢ (xᵢ - μᵢ) / σᵢ)."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def logit(self, features: dict[str, float]) -> float:
        return self.bias + sum(w * (features[n] - m) / s
                               for n, m, s, w in zip(self.names, self.mean, self.scale, self.weights))

    def probability(self, features: dict[str, float]) -> float:
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, self.logit(features)))))

    def to_dict(self) -> dict[str, object]:
        return {"features": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Logistic:
        def floats(key: str) -> tuple[float, ...]:
            return tuple(float(v) for v in d[key])  # type: ignore[attr-defined]

        return cls(tuple(str(n) for n in d["features"]), floats("mean"), floats("scale"),  # type: ignore[attr-defined]
                   floats("weights"), float(d["bias"]))  # type: ignore[arg-type]


@lru_cache(maxsize=8)
def load_logistic(path: Path) -> Logistic | None:
    """A fitted model's file (``{"model": …}``), or None when none has been fitted (no file)."""
    if not path.exists():
        return None
    return Logistic.from_dict(json.loads(path.read_text(encoding="utf-8"))["model"])


@dataclass(frozen=True)
class Candidate:
    """A span of the evidence as shown to the model, with what the ranker read about it."""

    text: str
    start: int  # offsets in the evidence text shown
    end: int
    copied: bool  # the model's own greedy copy
    score: ReplyScore
    features: dict[str, float]
    rank: float = 0.0  # the ranker's logit (0 without a ranker)

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "copied": self.copied, "rank": round(self.rank, 4),
                "features": {k: round(v, 4) for k, v in self.features.items()}}


def _stem(word: str) -> str:
    return strip_clitic(fold(word))[:4]


def near_question(line: str, start: int, end: int, question: str) -> float:
    """1 / (1 + the number of words between the span and the nearest of the question's
    content words in its line); 0 when the line holds none of them."""
    asked = {_stem(w) for w in content_words(question)}
    before = [_stem(w) for w in _WORD.findall(line[:start])]
    after = [_stem(w) for w in _WORD.findall(line[end:])]
    gaps = [len(before) - 1 - i for i, w in enumerate(before) if w in asked]
    gaps += [i for i, w in enumerate(after) if w in asked]
    return 1.0 / (1.0 + min(gaps)) if gaps else 0.0


def unit_asked(span: str, question: str) -> float:
    """Whether a word of the span beside its number (what it counts: "شخص", "يوان") shares a
    stem with a word of the question ("كم شخصًا …")."""
    words = [w for w in _WORD.findall(span) if not _DIGIT.search(w)]
    asked = {_stem(w) for w in _WORD.findall(question) if len(w) > 2}
    return float(any(_stem(w) in asked for w in words if len(w) > 2))


def features(span: str, copied: bool, score: ReplyScore, line: SourceSentence, line_text: str, at: int,
             question: str, kind: str, question_vec: Sequence[float], sims: Sequence[float]) -> dict[str, float]:
    """``RANK_FEATURES`` of one candidate: ``span`` at ``at`` in ``line_text`` (its line as
    shown), ``sims`` the question's cosines to every evidence line, best first."""
    logprobs = score.logprobs or (-10.0,)
    line_sim = cosine(question_vec, line.vector) if line.vector and question_vec else 0.0
    money = is_money(span)
    return {
        "logprob_mean": sum(logprobs) / len(logprobs),
        "logprob_first": logprobs[0],
        "logprob_end": score.end_logprob,
        "copied": float(copied),
        "line_similarity": line_sim,
        "line_rank": math.log1p(sum(1 for s in sims if s > line_sim + 1e-9)),
        "question_in_sentence": overlap(question, line.text),
        "near_question": near_question(line_text, at, at + len(span), question),
        "source_rank": 1.0 / line.number,
        "unit_asked": unit_asked(span, question),
        "money_how_much": float(money and kind == "how_much"),
        "money_how_many": float(money and kind == "how_many"),
        "echo": overlap(span, question) if content_words(span) else 1.0,
        "span_words": math.log1p(len(span.split())),
        "type_ok": float(not check_span(span, question, kind)),
    }


def relative(features: Sequence[dict[str, float]]) -> list[dict[str, float]]:
    """Each candidate's features plus how it stands against the question's other candidates:
    its mean and end log-probabilities less the best of them (0 for the best)."""
    best_lp = max((f["logprob_mean"] for f in features), default=0.0)
    best_end = max((f["logprob_end"] for f in features), default=0.0)
    return [f | {"logprob_rel": f["logprob_mean"] - best_lp, "end_rel": f["logprob_end"] - best_end}
            for f in features]


def rank(candidates: Sequence[Candidate], model: Logistic | None) -> tuple[Candidate, ...]:
    """The candidates, best first, each with its ranker logit and its relative features;
    without a model the copy leads and the rest keep their order."""
    feats = relative([c.features for c in candidates])
    candidates = [Candidate(c.text, c.start, c.end, c.copied, c.score, f) for c, f in zip(candidates, feats)]
    if model is None:
        return tuple(sorted(candidates, key=lambda c: not c.copied))
    scored = [Candidate(c.text, c.start, c.end, c.copied, c.score, c.features, model.logit(c.features))
              for c in candidates]
    # Ties go to the copy (sorted is stable and the copy comes first).
    return tuple(sorted(scored, key=lambda c: -c.rank))
