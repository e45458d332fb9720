"""Reading a factoid answer by copying it: question types, where a typed answer may start,
and the checks a copied span must pass.

For the questions a newsroom asks most (who, what, when, where, how many, how much) the
answer is a verbatim span of the evidence, by construction (``rag.llm.constrain``): the model
chooses where to copy from, never what to write. This module decides

- the question's type (``question_type``), or ``"open"`` for why/how/summarise/compare,
  which keep free generation;
- where in the evidence a span of that type may start (``typed_starts``): a number
  question's answer starts at or just before a number, a date question's at or just before
  a date word;
- every span of that type in the evidence (``typed_spans``: each number with its magnitude
  and unit, each date), the candidates a ranker weighs against the model's own copy;
- whether a copied span is an answer (``check_span``): not only the question's own words
  (an echo), and of the right type (no date for "how many", no number for "who").

Pure functions over strings; the model call is the LLM adapter's ``copy_span``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.llm.constrain import word_starts
from rag.support import source_numbers
from rag.text import (
    ARABIC_CHAR,
    BEFORE_DATE,
    CURRENCY_WORDS,
    DAY_WORDS,
    EASTERN_DIGITS,
    MAGNITUDE_WORDS,
    MONTH_WORDS,
    PHRASE_END,
    QUESTION_TYPES_AR,
    QUESTION_TYPES_EN,
    RELATIVE_TIME_WORDS,
    fold,
    strip_clitic,
)

OPEN = "open"



_DATE_WORDS = frozenset(fold(MONTH_WORDS + " " + DAY_WORDS + " " + RELATIVE_TIME_WORDS).split())
_ABSOLUTE_DATE_WORDS = frozenset(fold(MONTH_WORDS + " " + DAY_WORDS).split())
_YEAR = re.compile(r"(?<![0-9])(1[89]|20|14)[0-9][0-9](?![0-9])")
_DIGIT = re.compile(r"[0-9٠-٩]")
_WORD = re.compile(r"\w+")


def question_type(question: str) -> str:
    """who / what / when / where / which / how_many / how_much / event ("what happened",
    answered by the event's whole sentence), or ``open``."""
    q = fold(question).strip()
    arabic = bool(ARABIC_CHAR.search(q))
    # The question word may follow a lead-in: "According to the director, how many …".
    for clause in [q, *(c for c in re.split(r"[,،؛;:]", q)[1:])]:
        clause = re.sub(r"^[\s\"'«“(]+", "", clause)
        clause = re.sub(r"^(و|ف)(?=(ما|من|متى|كم|اين|اي|هل|لماذا|كيف|ماذا)\b)", "", clause)
        for kind, pattern in (QUESTION_TYPES_AR if arabic else QUESTION_TYPES_EN):
            if re.search(fold(pattern), clause):
                return kind
    return OPEN


def _has_number(text: str) -> bool:
    return bool(_DIGIT.search(text)) or bool(source_numbers(text))


def _words_of(text: str) -> set[str]:
    # Letters and digits apart: "يناير2017" is a month and a year.
    words = re.findall(r"[^\W\d_]+", fold(text))
    return {strip_clitic(w) for w in words} | set(words)


def _date_like(text: str) -> bool:
    return bool(_words_of(text) & _DATE_WORDS) or bool(_YEAR.search(fold(text).translate(EASTERN_DIGITS)))


def _absolute_date(text: str) -> bool:
    return bool(_words_of(text) & _ABSOLUTE_DATE_WORDS) or bool(_YEAR.search(fold(text).translate(EASTERN_DIGITS)))


def holds_type(text: str, kind: str) -> bool:
    """Whether ``text`` holds something a ``kind`` answer is made of: a number for how many /
    how much, an absolute date for when. False for the other kinds (no cheap test for a name)."""
    if kind in ("how_many", "how_much"):
        return _has_number(text)
    if kind == "when":
        return _absolute_date(text)
    return False


def span_can_end(kind: str) -> Callable[[str], bool] | None:
    """What a copied span must hold before it may end: a number for how many / how much,
    a date for when."""
    if kind in ("how_many", "how_much"):
        return _has_number
    if kind == "when":
        return _absolute_date
    return None


def since_starts(evidence: str, question: str, starts: set[int] | None) -> set[int] | None:
    """A "since when" question is answered by a "since …" phrase: when the evidence has one
    before a date, the span starts there."""
    if not re.search(fold(r"(منذ متى|since when)"), fold(question)):
        return starts
    found = {m.start() for m in re.finditer(r"(?<!\w)(منذ|[Ss]ince)(?!\w)", evidence)
             if _absolute_date(evidence[m.end():m.end() + 40])}
    return found or starts


def typed_starts(evidence: str, kind: str, lead_words: int = 2) -> set[int] | None:
    """Character offsets where an answer of ``kind`` may start: at or up to
    ``lead_words`` words before a number (how many / how much) or a date word (when).
    ``None``: any word start."""
    if kind not in ("how_many", "how_much", "when"):
        return None
    starts = word_starts(evidence)
    hits = []
    for i, s in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(evidence)
        word = evidence[s:end]
        if kind == "when":
            # A month, a weekday or a year; not "today" or "this week", which answer
            # nothing without the article's date.
            ok = _absolute_date(word)
        else:
            ok = _has_number(word)
        if ok:
            hits.append(i)
    allowed: set[int] = set()
    for i in hits:
        line_start = evidence.rfind("\n", 0, starts[i]) + 1
        for j in range(max(0, i - lead_words), i + 1):
            if starts[j] >= line_start:
                allowed.add(starts[j])
    return allowed


def is_echo(span: str, question: str) -> bool:
    """Every content word of the span is one of the question's words: it restates the
    question instead of answering it."""
    words = [strip_clitic(w) for w in _WORD.findall(fold(span))]
    if not words:
        return True
    asked = {strip_clitic(w) for w in _WORD.findall(fold(question))}
    return all(w in asked for w in words)


def check_span(span: str, question: str, kind: str) -> str:
    """Why ``span`` is not an answer to a ``kind`` question, or ``""`` when it is."""
    if not span.strip() or not _WORD.search(span):
        return "empty"
    if is_echo(span, question):
        return "echo"
    number = _has_number(span)
    if kind in ("how_many", "how_much") and not number:
        return "type: no number"
    if kind in ("how_many", "how_much") and _absolute_date(span) and not _has_number(_strip_dates(span)):
        return "type: a date, not a quantity"
    if kind == "when" and not _absolute_date(span):
        return "type: no date"
    if kind in ("who", "where") and not re.search(r"[^\W\d_]", span):
        return "type: a number, not a name"
    return ""


def _strip_dates(span: str) -> str:
    out = []
    for w in span.split():
        f = fold(w)
        if strip_clitic(f) in _ABSOLUTE_DATE_WORDS or f in _ABSOLUTE_DATE_WORDS or _YEAR.fullmatch(f):
            continue
        out.append(w)
    return " ".join(out)


def complete_quantity(evidence: str, start: int, end: int, most: int = 1) -> int:
    """Where a quantity's span should end. A span of a number and at most one word may
    stop short of its noun phrase ("17 ساعة" of "17 ساعة تدريبية", "180 شاباً" of "180
    شاباً وشابة"): it takes up to ``most`` more words, never past punctuation, the line's
    end, or a word that starts another phrase (a preposition, "وال…", a verb "وي…")."""
    words = [w for w in evidence[start:end].split() if not _has_number(w)]
    if len(words) > 1:
        return end
    line_end = evidence.find("\n", end)
    line_end = len(evidence) if line_end < 0 else line_end
    pos = end
    for _ in range(most):
        m = re.match(r"[ \t]+(\w[\w\u064b-\u0652\u0640-]*)", evidence[pos:line_end])
        if not m:
            break
        word = fold(m.group(1))
        if word in PHRASE_END or strip_clitic(word) in PHRASE_END or _DIGIT.search(word) or _date_like(word):
            break
        if word[0] in "لبك" and strip_clitic(word) != word:  # a preposition written onto the word
            break
        if word.startswith("وال") or re.match("و[يتن]", word):  # a new clause or a verb
            break
        pos += m.end()
    return pos


# A number as written: digits with thousands or decimal separators ("1,36" is one number).
_NUMBER = re.compile(r"(?<![\w.,٫٬])(?:[$€£]\s?)?[0-9٠-٩]+(?:[.,٫٬][0-9٠-٩]+)*(?:\s?[%٪])?")
# Words that may join the parts of a date ("15 من أغسطس عام 2015").
_DATE_GLUE = frozenset(fold("من عام سنه العام لعام الموافق هـ م").split())


def typed_spans(text: str, kind: str) -> list[tuple[int, int]]:
    """Every span of ``kind``'s type in ``text``, as (start, end) offsets, in order: for how
    many / how much, each number with the magnitude words after it and the word it counts
    (``complete_quantity``); for when, each run of date words (day, month, year, weekday,
    joined by "من", "عام" …) holding an absolute date. A span never starts or ends inside a
    number. Empty for the other kinds."""
    out: list[tuple[int, int]] = []
    if kind in ("how_many", "how_much"):
        dates = [(a, b) for a, b in typed_spans(text, "when") if _words_of(text[a:b]) & _ABSOLUTE_DATE_WORDS]
        for m in _NUMBER.finditer(text):
            if any(a <= m.start() < b for a, b in dates) or (
                    _YEAR.fullmatch(m.group().translate(EASTERN_DIGITS))
                    and re.search(r"(عام|سنة|العام|year|in)\s*$", text[max(0, m.start() - 8):m.start()], re.I)):
                continue  # the day or year of a date
            end = m.end()
            while True:  # "3,83 مليارات", "40 ألف"
                nxt = re.match(r"[ \t]+(\w+)", text[end:])
                if not nxt or fold(nxt.group(1)) not in MAGNITUDE_WORDS:
                    break
                end += nxt.end()
            out.append((m.start(), complete_quantity(text, m.start(), end)))
    elif kind == "when":
        run: list[tuple[int, int]] = []
        for m in re.finditer(r"\S+", text):
            word = m.group().strip("،,.؛;:()«»\"'")
            f = fold(word).translate(EASTERN_DIGITS)
            if word and (_absolute_date(word) or f.isdigit() or f in _DATE_GLUE or strip_clitic(f) in _DATE_WORDS):
                run.append((m.start(), m.start() + len(m.group().rstrip("،,.؛;:)»\"'"))))
                # A comma ends the date unless a year follows ("August 8, 2015").
                if m.group() != m.group().rstrip("،,.؛;:)»\"'") and not _YEAR.match(text[m.end():].lstrip()):
                    _close_run(text, run, out)
                continue
            _close_run(text, run, out)
        _close_run(text, run, out)
    return out


def _close_run(text: str, run: list[tuple[int, int]], out: list[tuple[int, int]]) -> None:
    while run and (fold(text[run[0][0]:run[0][1]]) in _DATE_GLUE | BEFORE_DATE
                   or fold(text[run[0][0]:run[0][1]]) in ("يوم", "day")):
        run.pop(0)
    while run and fold(text[run[-1][0]:run[-1][1]]) in _DATE_GLUE:
        run.pop()
    if run and _absolute_date(text[run[0][0]:run[-1][1]]) and "\n" not in text[run[0][0]:run[-1][1]]:
        out.append((run[0][0], run[-1][1]))
    run.clear()


def is_money(text: str) -> bool:
    """Whether ``text`` names a currency."""
    return bool({strip_clitic(w) for w in _words_of(text)} & CURRENCY_WORDS
                or set(re.findall(r"[$€£]", text)))
