"""Support check: is each answer sentence backed by the sources the model was shown?

A sentence is supported when every number it states appears in the sources and it is
close to one source sentence: multilingual-e5 cosine ≥ ``SIM_THRESHOLD`` (cross-lingual:
an English answer to Arabic sources), or most of its content words occur in that source.
Measured on the seed article: supported answer sentences scored 0.85–0.88 against their
source sentence, answers from model memory ("France won the 2018 World Cup") 0.73–0.81.

Pure logic over embeddings the caller provides; it does not decide what to show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.citations import overlap
from rag.text import sentence_spans
from rag.types import SentenceSupport

SIM_THRESHOLD = 0.83
LEXICAL_THRESHOLD = 0.6
_MARKERS = re.compile(r"\[\d+\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_EASTERN = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")


@dataclass(frozen=True)
class SourceSentence:
    number: int  # the source's [n]
    text: str
    start: int  # offsets into the original article
    end: int
    vector: tuple[float, ...]


_THOUSANDS = re.compile(r"(?<=\d)[,٬]\s?(?=\d{3}(?!\d))")


def numbers_in(text: str) -> set[str]:
    # "40,000", "40, 000" and "40000" are one number; "1,5" and "1.5" another.
    plain = _THOUSANDS.sub("", text.translate(_EASTERN))
    return {n.replace(",", ".") for n in _NUMBER.findall(plain)}


def check(answer: str, sources: Sequence[SourceSentence],
          embed: Callable[[Sequence[str]], list[list[float]]]) -> list[SentenceSupport]:
    spans = list(sentence_spans(answer))
    if not spans or not sources:
        return []
    texts = [answer[a:b] for a, b in spans]
    plain = [_MARKERS.sub("", t).strip() for t in texts]
    vectors = embed([p or t for p, t in zip(plain, texts)])
    source_numbers: set[str] = set().union(*(numbers_in(s.text) for s in sources))
    out = []
    for text, clean, vec in zip(texts, plain, vectors):
        cited = tuple(int(m) for m in re.findall(r"\[(\d+)\]", text))
        best, best_score = None, -1.0
        for s in sources:
            score = sum(x * y for x, y in zip(vec, s.vector))
            if score > best_score:
                best, best_score = s, score
        assert best is not None
        lexical = max(overlap(clean, s.text) for s in sources) if clean else 0.0
        wanted_numbers = numbers_in(clean)
        numbers_ok = wanted_numbers <= source_numbers
        supported = bool(clean) and numbers_ok and (best_score >= SIM_THRESHOLD or lexical >= LEXICAL_THRESHOLD)
        # Which sources support the sentence on their own (for checking the model's markers).
        by: list[int] = []
        if supported:
            for number in dict.fromkeys(s.number for s in sources):
                own = [s for s in sources if s.number == number]
                if not wanted_numbers <= set().union(*(numbers_in(s.text) for s in own)):
                    continue
                cos = max(sum(x * y for x, y in zip(vec, s.vector)) for s in own)
                if cos >= SIM_THRESHOLD or max(overlap(clean, s.text) for s in own) >= LEXICAL_THRESHOLD:
                    by.append(number)
        out.append(SentenceSupport(text, cited, supported, best.number, round(best_score, 4), best.text,
                                   best.start, best.end, tuple(by)))
    return out
