"""Scoring one reply against gold answers, and the trust figures of a set of them.

SQuAD token F1, exact match and containment after Arabic-aware normalisation (diacritics,
tatweel, letter forms, punctuation, citation markers); what the decide stage did with a
question (``trust_fields``) and the figures over many (``trust_scores``). No question is
asked here: ``rag.eval`` runs them, ``bench/trust.py`` draws them.
"""

from __future__ import annotations

import re
import statistics
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rag.text import fold

_PUNCT = set(string.punctuation) | set("،؛؟«»…“”‘’—–·")
_MARKER = re.compile(r"\[\d+\]")


def normalize_answer(text: str) -> str:
    text = _MARKER.sub(" ", text)
    text = fold(text)
    text = "".join(" " if c in _PUNCT else c for c in text)
    words = [w for w in text.split() if w not in ("a", "an", "the")]
    return " ".join(words)


def f1_score(prediction: str, gold: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if not p or not g or same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> bool:
    return normalize_answer(prediction) == normalize_answer(gold)


def contains(prediction: str, gold: str) -> bool:
    g = normalize_answer(gold)
    return bool(g) and f" {g} " in f" {normalize_answer(prediction)} "


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank; 0 for none)."""
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def trust_fields(ans: Any, answers: Sequence[str]) -> dict[str, Any]:
    """What the decide stage did with a question, and whether each part was right: the kind
    of reply, its confidence and features, whether the copied span held the gold (the
    label ``akhbar calibrate --confidence`` fits), and whether quoted passages hold it."""
    d = ans.diagnostics
    span = d.span_rendered or d.span or ""
    quotes = " ".join(s.quote for s in ans.sentences) if ans.kind == "passages" else ""
    return {"kind": str(ans.kind), "confidence": ans.confidence, "features": d.features,
            "span": span, "span_right": bool(span) and any(contains(span, g) for g in answers),
            "passages_gold": bool(quotes) and any(contains(quotes, g) for g in answers),
            # Each candidate the ranker weighed, labelled (what ``akhbar calibrate --ranker`` fits).
            "candidates": [c | {"right": any(contains(str(c["text"]), g) for g in answers)}
                           for c in d.candidates or ()]}


def confidence_bins(rows: list[dict[str, Any]]) -> list[tuple[float, float, int]]:
    """The copied spans by confidence tenth: (mean confidence, share right, count) of each
    bin that holds any (the reliability diagram's points; the ECE's terms)."""
    scored = [(float(r["confidence"]), float(r["answerable"] and r["span_right"])) for r in rows
              if r.get("confidence") is not None]
    out = []
    for b in range(10):
        inside = [(c, y) for c, y in scored if b / 10 <= c < (b + 1) / 10 or (b == 9 and c == 1.0)]
        if inside:
            out.append((statistics.mean(c for c, _ in inside), statistics.mean(y for _, y in inside), len(inside)))
    return out


def trust_scores(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Short-answer precision, coverage, useful replies, unanswerable questions given a short
    answer, and the expected calibration error of the confidences (10 equal-width bins)."""
    ok = [r for r in rows if r["answerable"]]
    no = [r for r in rows if not r["answerable"]]
    short = [r for r in rows if r["kind"] == "answer"]

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    right = [r for r in short if r["answerable"] and r["contained"]]
    bins = confidence_bins(rows)
    scored = sum(n for _, _, n in bins)
    ece = sum(n / scored * abs(said - right_share) for said, right_share, n in bins)
    return {
        "short_answers": len(short), "short_answer_precision": share(len(right), len(short)),
        "coverage": share(sum(1 for r in ok if r["kind"] == "answer"), len(ok)),
        "useful": share(sum(1 for r in ok if (r["kind"] == "answer" and r["contained"]) or r["passages_gold"]),
                        len(ok)),
        "passages": share(sum(1 for r in rows if r["kind"] == "passages"), len(rows)),
        "unanswerable_short": share(sum(1 for r in no if r["kind"] == "answer"), len(no)),
        "ece": ece if scored else None, "scored": scored,
    }


def format_trust(t: dict[str, Any]) -> str:
    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    return (f"trust: short-answer precision {f(t['short_answer_precision'])} ({t['short_answers']} answers), "
            f"coverage {f(t['coverage'])}, useful {f(t['useful'])}, passages {f(t['passages'])}, "
            f"unanswerable given a short answer {f(t['unanswerable_short'])}, ECE {f(t['ece'])} ({t['scored']} scored)")
