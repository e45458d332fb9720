"""Support check: is each answer sentence backed by the sources the model was shown?

A sentence is supported when every number it states appears in the sources (in digits or
as a number word: "5" is backed by "خمس") and it is close to one source sentence:
multilingual-e5 cosine ≥ ``SIM_THRESHOLD`` (cross-lingual: an English answer to Arabic
sources), or most of its content words and numbers occur in that source. A number the
answer works out as the span between two stated ones ("from 1870 to 1939, 69 years")
counts as stated. The threshold sits between what answers drawn from a source and answers
from model memory score against the closest source sentence (docs/decisions.md).

Pure logic over embeddings the caller provides; it does not decide what to show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

from rag.text import CLITICS, EASTERN_DIGITS, content_words, fold, sentence_spans, strip_diacritics
from rag.types import SentenceSupport
from rag.vectors import cosine

SIM_THRESHOLD = 0.83
LEXICAL_THRESHOLD = 0.6
_MARKERS = re.compile(r"\[\d+\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class SourceSentence:
    number: int  # the source's [n]
    text: str
    start: int  # offsets into the original article
    end: int
    vector: tuple[float, ...]


_THOUSANDS = re.compile(r"(?<=\d)[,٬]\s?(?=\d{3}(?!\d))")
# "711.988" is 711988 in much European-style copy, or 711.988; a support check accepts either.
_DOT_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")

# Number words a source may use where the answer writes digits ("خمس مراحل" → "5 [1]").
# Alef forms and taa marbuta are unified before lookup (rag.text.fold).
_UNITS = {1: "واحد واحده one", 2: "اثنان اثنين اثنتان اثنتين two", 3: "ثلاث ثلاثه three",
          4: "اربع اربعه four", 5: "خمس خمسه five", 6: "ست سته six", 7: "سبع سبعه seven",
          8: "ثمان ثماني ثمانيه eight", 9: "تسع تسعه nine", 10: "عشر عشره ten", 11: "eleven",
          12: "twelve", 20: "عشرون عشرين twenty", 30: "ثلاثون ثلاثين thirty",
          40: "اربعون اربعين forty", 50: "خمسون خمسين fifty", 60: "ستون ستين sixty",
          70: "سبعون سبعين seventy", 80: "ثمانون ثمانين eighty", 90: "تسعون تسعين ninety",
          100: "مئه مائه hundred", 1000: "الف thousand"}
_WORD_NUMBER = {w: str(n) for n, words in _UNITS.items() for w in words.split()}
# Decades: "الأربعينات" → 40 and 1940.
for _n, _word in ((20, "عشرين"), (30, "ثلاثين"), (40, "اربعين"), (50, "خمسين"), (60, "ستين"),
                  (70, "سبعين"), (80, "ثمانين"), (90, "تسعين")):
    _WORD_NUMBER[_word[:-2] + "ينات"] = f"{_n} 19{_n}"


def _readings(text: str) -> list[set[str]]:
    """Each number written in digits, with every value it can be read as."""
    plain = _THOUSANDS.sub("", text.translate(EASTERN_DIGITS))
    out = []
    for n in _NUMBER.findall(plain):
        values = {n.replace(",", ".")}
        if _DOT_THOUSANDS.match(n):
            values.add(n.replace(".", ""))
        out.append(values)
    return out


def numbers_in(text: str) -> set[str]:
    # "40,000", "40, 000" and "40000" are one number; "1,5" and "1.5" another.
    return set().union(*_readings(text))


def source_numbers(text: str) -> set[str]:
    """The numbers a source states, in digits or in words."""
    found = numbers_in(text)
    for word in re.findall(r"\w+", strip_diacritics(text)):
        word = fold(word)
        for candidate in (word, *(word[len(p):] for p in CLITICS if word.startswith(p))):
            if candidate in _WORD_NUMBER:
                found.update(_WORD_NUMBER[candidate].split())
                break
    return found


def _numbers_ok(text: str, available: set[str]) -> bool:
    """Every number in ``text`` is stated by the sources, or is the span between two that
    are, both stated in ``text`` too ("from 1870 to 1939, 69 years")."""
    readings = _readings(text)
    stated = [float(v) for values in readings for v in values & available]
    for values in readings:
        if values & available:
            continue
        spans = {abs(a - b) for a, b in combinations(stated, 2)}
        if not any(float(v) in spans for v in values):
            return False
    return True


def _lexical(answer: str, source: str, numbers: set[str]) -> float:
    """Share of the answer's content words and numbers found in the source, numbers by
    value (so a bare "5 [1]" is backed by "خمس مراحل")."""
    words = {w for w in content_words(answer) if not any(ch.isdigit() for ch in w)}
    readings = _readings(answer)
    if not words and not readings:
        return 0.0
    found = len(words & content_words(source)) + sum(1 for values in readings if values & numbers)
    return found / (len(words) + len(readings))


def check(answer: str, sources: Sequence[SourceSentence],
          embed: Callable[[Sequence[str]], list[list[float]]]) -> list[SentenceSupport]:
    spans = list(sentence_spans(answer))
    if not spans or not sources:
        return []
    texts = [answer[a:b] for a, b in spans]
    plain = [_MARKERS.sub("", t).strip() for t in texts]
    vectors = embed([p or t for p, t in zip(plain, texts)])
    stated = {id(s): source_numbers(s.text) for s in sources}
    all_stated: set[str] = set().union(*stated.values())
    out = []
    for text, clean, vec in zip(texts, plain, vectors):
        cited = tuple(int(m) for m in re.findall(r"\[(\d+)\]", text))
        best, best_score = None, -1.0
        for s in sources:
            score = cosine(vec, s.vector)
            if score > best_score:
                best, best_score = s, score
        assert best is not None
        lex = {id(s): _lexical(clean, s.text, stated[id(s)]) if clean else 0.0 for s in sources}
        lexical = max(lex.values())
        if best_score < SIM_THRESHOLD and lex[id(best)] < LEXICAL_THRESHOLD <= lexical:
            # Backed by its words, not its meaning (a short answer: "5 [1]"): quote the
            # sentence that holds them.
            best = max(sources, key=lambda s: lex[id(s)])
            best_score = cosine(vec, best.vector)
        numbers_ok = _numbers_ok(clean, all_stated)
        supported = bool(clean) and numbers_ok and (best_score >= SIM_THRESHOLD or lexical >= LEXICAL_THRESHOLD)
        # Which sources support the sentence on their own (for checking the model's markers).
        by: list[int] = []
        if supported:
            for number in dict.fromkeys(s.number for s in sources):
                own = [s for s in sources if s.number == number]
                if not _numbers_ok(clean, set().union(*(stated[id(s)] for s in own))):
                    continue
                cos = max(cosine(vec, s.vector) for s in own)
                if cos >= SIM_THRESHOLD or max(lex[id(s)] for s in own) >= LEXICAL_THRESHOLD:
                    by.append(number)
        out.append(SentenceSupport(text, cited, supported, best.number, round(best_score, 4), best.text,
                                   best.start, best.end, tuple(by)))
    return out
