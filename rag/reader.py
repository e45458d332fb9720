"""Reading a factoid answer by copying it: question types, where a typed answer may start,
and the checks a copied span must pass.

For the questions a newsroom asks most (who, what, when, where, how many, how much) the
answer is a verbatim span of the evidence, by construction (``rag.constrain``): the model
chooses where to copy from, never what to write. This module decides

- the question's type (``question_type``), or ``"open"`` for why/how/summarise/compare,
  which keep free generation;
- where in the evidence a span of that type may start (``typed_starts``): a number
  question's answer starts at or just before a number, a date question's at or just before
  a date word;
- whether a copied span is an answer (``check_span``): not only the question's own words
  (an echo), and of the right type (no date for "how many", no number for "who").

Pure functions over strings; the model call is the LLM adapter's ``copy_span``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable

from rag.constrain import word_starts
from rag.text import EASTERN_DIGITS, GREGORIAN_MONTHS, HIJRI_MONTHS, fold, strip_clitic

OPEN = "open"



# Question-word patterns, tried in order, on the folded question (alef forms and taa
# marbuta unified, diacritics gone, lower case). The first that matches decides.
_AR_TYPES: tuple[tuple[str, str], ...] = (
    ("open", r"^(لماذا|لم |كيف(?! يبلغ)|هل |اشرح|لخص|قارن|صف |ما (سبب|اسباب|اهميه|دلاله|موقف|راي|الفرق|اثر)"
             r"|ماذا (قال|يعني|تعني))"),
    ("how_much", r"^(بكم|كم (تبلغ|يبلغ|بلغت|بلغ|تكلفه|قيمه|سعر|مبلغ|ميزانيه|حجم|مساحه|طول|ارتفاع|نسبه)"
                 r"|ما (قيمه|تكلفه|مبلغ|سعر|حجم|ميزانيه|مساحه|نسبه|مقدار|طول|ارتفاع|كلفه|اجمالي)"
                 r"|ما هي (قيمه|تكلفه|نسبه|مساحه|ميزانيه))"),
    ("how_many", r"^(كم|ما عدد|ما هو عدد|ما مجموع|ما اجمالي عدد)"),
    ("when", r"^(متى|في اي (عام|سنه|يوم|شهر|تاريخ|وقت)|ما تاريخ|ما موعد|منذ متى|الى متى|حتى متى)"),
    ("where", r"^(اين|الى اين|من اين|في اي (مدينه|دوله|مكان|منطقه|محافظه|مستشفى|حي|موقع)"
              r"|ما (مكان|موقع)|الى اي (مدينه|دوله|مكان))"),
    ("who", r"^(من |من$|ما اسم|ما هو اسم|ما هي اسم|لمن |مع من|عن من|بمن |على من)"),
    ("which", r"^(اي |ايه |في اي |الى اي |باي |لاي |من اي )"),
    ("event", r"^(ماذا|ما الذي|وماذا) (حدث|جرى|حصل|يحدث|يجري|يحصل)"),
    ("what", r"^(ما |ماذا|ما$|وما )"),
)
_EN_TYPES: tuple[tuple[str, str], ...] = (
    ("open", r"^(why|how (?!many|much|long|old|far|big|large|high|tall)|explain|summari[sz]e|compare|describe"
             r"|what (is|was|were|are) the (reason|reasons|significance|impact|difference))"),
    ("how_much", r"^(how much|what (is|was|were|are) the (cost|price|value|amount|budget|size|area|total|rate"
                 r"|percentage|share|length|height)|how (long|big|large|high|tall|far|old))"),
    ("how_many", r"^(how many|what (is|was) the (number|total number|count))"),
    ("when", r"^(when|what (year|date|day|month|time)|since when|until when|on what date|in what year)"),
    ("where", r"^(where|in (what|which) (city|country|place|region|province|town|hospital|neighbou?rhood)"
              r"|what (city|country|place))"),
    ("who", r"^(who|whom|whose|what is the name|what was the name|name the)"),
    ("which", r"^(which|in which|at which|to which|for which)"),
    ("event", r"^what (happened|happens|is happening|has happened|had happened|took place|went on)"),
    ("what", r"^(what|name)"),
)

# A month's words, less the ordinals of the two-word names ("كانون الثاني", "ربيع الأول"),
# which are everyday words.
_ORDINALS = frozenset(fold("الأول الثاني الآخر الأولى الآخرة الثانية").split())
_MONTHS = " ".join({w for name in (*GREGORIAN_MONTHS, *HIJRI_MONTHS) for w in name.split() if w not in _ORDINALS}
                   | {m.lower() for m in calendar.month_name if m})
_DAYS = ("السبت الاحد الاثنين الثلاثاء الاربعاء الخميس الجمعه saturday sunday monday tuesday wednesday "
         "thursday friday")
_RELATIVE = ("امس اليوم غدا الليله صباح مساء ظهر فجر عصر الاسبوع الشهر العام عام سنه اسبوع شهر يوم ساعه "
             "yesterday today tomorrow morning evening week month year")
_DATE_WORDS = frozenset(fold(_MONTHS + " " + _DAYS + " " + _RELATIVE).split())
_ABSOLUTE_DATE_WORDS = frozenset(fold(_MONTHS + " " + _DAYS).split())
_YEAR = re.compile(r"(?<![0-9])(1[89]|20|14)[0-9][0-9](?![0-9])")
_DIGIT = re.compile(r"[0-9٠-٩]")
_WORD = re.compile(r"\w+")


def question_type(question: str) -> str:
    """who / what / when / where / which / how_many / how_much / event ("what happened",
    answered by the event's whole sentence), or ``open``."""
    q = fold(question).strip()
    arabic = bool(re.search(r"[\u0600-\u06ff]", q))
    # The question word may follow a lead-in: "According to the director, how many …".
    for clause in [q, *(c for c in re.split(r"[,،؛;:]", q)[1:])]:
        clause = re.sub(r"^[\s\"'«“(]+", "", clause)
        clause = re.sub(r"^(و|ف)(?=(ما|من|متى|كم|اين|اي|هل|لماذا|كيف|ماذا)\b)", "", clause)
        for kind, pattern in (_AR_TYPES if arabic else _EN_TYPES):
            if re.search(fold(pattern), clause):
                return kind
    return OPEN


def _has_number(text: str) -> bool:
    from rag.support import source_numbers

    return bool(_DIGIT.search(text)) or bool(source_numbers(text))


def _words_of(text: str) -> set[str]:
    # Letters and digits apart: "يناير2017" is a month and a year.
    words = re.findall(r"[^\W\d_]+", fold(text))
    return {strip_clitic(w) for w in words} | set(words)


def _date_like(text: str) -> bool:
    return bool(_words_of(text) & _DATE_WORDS) or bool(_YEAR.search(fold(text).translate(EASTERN_DIGITS)))


def _absolute_date(text: str) -> bool:
    return bool(_words_of(text) & _ABSOLUTE_DATE_WORDS) or bool(_YEAR.search(fold(text).translate(EASTERN_DIGITS)))


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


# Words that end a quantity's noun phrase: prepositions, conjunctions, relatives, verbs of
# saying and the like ("45 تخصصا في …", "17 ساعة تدريبية خلال …").
_PHRASE_END = frozenset(fold(
    "في من على الى إلى عن مع بين خلال منذ حتى بعد قبل عند لدى ضمن حول نحو عبر او أو ثم الذي التي الذين "
    "اللذين هذا هذه ذلك تلك كما قد وقد تم وتم كان كانت وكان وكانت يوم اليوم امس حيث اذ إذ لكن بل اما أما "
    "وهو وهي هو هي ان أن إن لان لأن بسبب مقابل مقارنة وذلك فيما بينما وفق حسب بحسب "
    "in on at of for from to with by during since after before and or which that who as than").split())


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
        if word in _PHRASE_END or strip_clitic(word) in _PHRASE_END or _DIGIT.search(word) or _date_like(word):
            break
        if word[0] in "لبك" and strip_clitic(word) != word:  # a preposition written onto the word
            break
        if word.startswith("وال") or re.match("و[يتن]", word):  # a new clause or a verb
            break
        pos += m.end()
    return pos
