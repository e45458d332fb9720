"""Time expressions in a question, as a date window: "أمس", "الأسبوع الماضي", "في أغسطس
2015", "منذ بداية آب", "between 3 and 9 August", "last month".

``find_window(question, reference)`` returns the first expression it recognises as a
``Window`` (inclusive ``since``/``until`` dates, the characters it matched), resolved
against ``reference`` (the question's "today"). Arabic month names are read in both series
(يناير … ديسمبر and كانون الثاني … كانون الأول), Eastern digits as digits, and the
spelling variants that ``rag.text.fold`` unifies.

Conventions, stated once: "last week" is the seven days before the reference day; "this
week" the seven days ending with it; "last month/year" the previous calendar month/year;
"this month/year" from its first day to the reference day; a month without a year is the
latest such month not after the reference day.

Pure: no clock is read here (the caller passes the reference date), and nothing is
filtered; ``rag.akhbar`` turns a window into retrieval filters and says which it used.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from rag.text import EASTERN_DIGITS, GREGORIAN_MONTHS, fold

# An open start ("until 5 August"): no article is older.
OPEN_START = date(1, 1, 1)


@dataclass(frozen=True)
class Window:
    since: date
    until: date
    text: str  # the expression as written in the question
    start: int  # its character offsets in the question
    end: int
    # The day relative words were counted from when it was the archive's newest article
    # rather than today (ISO date), else "".
    anchor: str = ""

    def label(self, language: str) -> str:
        """The window in words: "بين 2015-08-03 و2015-08-09", "on 2015-08-09"."""
        a, b = self.since.isoformat(), self.until.isoformat()
        if self.since == OPEN_START:
            return f"حتى {b}" if language == "ar" else f"until {b}"
        if language == "ar":
            return f"يوم {a}" if a == b else f"بين {a} و{b}"
        return f"on {a}" if a == b else f"from {a} to {b}"

    def anchor_label(self, language: str) -> str:
        """What relative words were counted from, when not today: "counted from the newest
        article (2015-08-10)"; "" otherwise."""
        if not self.anchor:
            return ""
        if language == "ar":
            return f"قياسًا إلى تاريخ أحدث مقال في الأرشيف ({self.anchor})"
        return f"counted from the archive's newest article ({self.anchor})"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Window:
        return cls(date.fromisoformat(str(d["since"])), date.fromisoformat(str(d["until"])), str(d["text"]),
                   int(d["start"]), int(d["end"]), str(d.get("anchor", "")))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["since"], d["until"] = self.since.isoformat(), self.until.isoformat()
        return d


_AR_MONTHS = GREGORIAN_MONTHS  # folded; the Levantine آب only inside a date construct
_EN_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_EN_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_EN_MONTHS["sept"] = 9
_NUMBERS = {
    "يوم": 1, "يومين": 2, "اسبوع": 1, "اسبوعين": 2, "شهر": 1, "شهرين": 2, "عام": 1, "عامين": 2, "سنه": 1, "سنتين": 2,
    "ثلاثه": 3, "ثلاث": 3, "اربعه": 4, "اربع": 4, "خمسه": 5, "خمس": 5, "سته": 6, "ست": 6, "سبعه": 7, "سبع": 7,
    "ثمانيه": 8, "ثماني": 8, "تسعه": 9, "تسع": 9, "عشره": 10, "عشر": 10,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "a": 1,
}

_AR_MONTH = "(?:" + "|".join(sorted(map(re.escape, _AR_MONTHS), key=len, reverse=True)) + ")"
_EN_MONTH = "(?:" + "|".join(sorted(map(re.escape, _EN_MONTHS), key=len, reverse=True)) + r")\.?"
_MONTH = f"(?:{_AR_MONTH}|{_EN_MONTH})"
_YEAR = r"(?:19|20)\d\d"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])"
_B = r"(?<![\w])"  # a word starts here (Arabic clitics are handled by the patterns)
_E = r"(?![\w])"
_W = r"[و]?"  # a conjunction written onto the word

# One calendar date: "10 أغسطس 2015", "10 August", "August 10, 2015", "2015-08-10", "10/8/2015".
_DATE = (rf"(?:(?P<{{p}}iso>{_YEAR}-\d\d?-\d\d?)|(?P<{{p}}dmy>{_DAY}/\d\d?/{_YEAR})"
         rf"|(?P<{{p}}d1>{_DAY})\s+(?:من\s+)?(?:شهر\s+)?(?P<{{p}}m1>{_MONTH})(?:\s*,?\s*(?:(?:من\s+)?(?:عام|سنه)\s+)?(?P<{{p}}y1>{_YEAR}))?"
         rf"|(?P<{{p}}m2>{_EN_MONTH})\s+(?P<{{p}}d2>{_DAY})(?:st|nd|rd|th)?(?:\s*,?\s*(?P<{{p}}y2>{_YEAR}))?"
         rf"|(?:شهر\s+)?(?P<{{p}}m3>{_MONTH})(?:\s*,?\s*(?:(?:من\s+)?(?:عام|سنه)\s+)?(?P<{{p}}y3>{_YEAR}))?"
         rf"|(?:(?:عام|سنه|the year)\s+)?(?P<{{p}}y4>{_YEAR}))")


def _date_re(prefix: str) -> str:
    return _DATE.replace("{p}", prefix)


@dataclass(frozen=True)
class _Span:
    """A parsed date expression: the first and last day it covers."""

    first: date
    last: date


def _month_no(name: str) -> int:
    name = name.rstrip(".").lower()
    return _AR_MONTHS.get(name) or _EN_MONTHS[name]


def _latest_month(month: int, ref: date) -> int:
    """The year of the latest ``month`` not after ``ref``."""
    return ref.year if month <= ref.month else ref.year - 1


def _month_span(year: int, month: int) -> _Span:
    return _Span(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def _parse_date(m: re.Match[str], p: str, ref: date, year_hint: int | None = None) -> _Span | None:
    g = m.groupdict()
    try:
        if g.get(f"{p}iso"):
            y, mo, d = (int(x) for x in g[f"{p}iso"].split("-"))
            return _Span(date(y, mo, d), date(y, mo, d))
        if g.get(f"{p}dmy"):
            d, mo, y = (int(x) for x in g[f"{p}dmy"].split("/"))
            return _Span(date(y, mo, d), date(y, mo, d))
        for dk, mk, yk in ((f"{p}d1", f"{p}m1", f"{p}y1"), (f"{p}d2", f"{p}m2", f"{p}y2")):
            if g.get(dk) and g.get(mk):
                month = _month_no(g[mk])
                year = int(g[yk]) if g.get(yk) else (year_hint or _latest_month(month, ref))
                day = date(year, month, int(g[dk]))
                return _Span(day, day)
        if g.get(f"{p}m3"):
            month = _month_no(g[f"{p}m3"])
            if g[f"{p}m3"] == "اب" and not g.get(f"{p}y3") and "شهر" not in m.group(0):
                return None  # "أب" alone is "father"
            year = int(g[f"{p}y3"]) if g.get(f"{p}y3") else (year_hint or _latest_month(month, ref))
            return _month_span(year, month)
        if g.get(f"{p}y4"):
            year = int(g[f"{p}y4"])
            return _Span(date(year, 1, 1), date(year, 12, 31))
    except ValueError:
        return None  # 31 February and the like: not a date
    return None


def _count(word: str) -> int | None:
    word = word.strip()
    if word.isdigit():
        return int(word)
    return _NUMBERS.get(word)


def _unit_days(unit: str) -> tuple[str, int]:
    u = unit.lower()
    if u.startswith(("يوم", "ايام", "day")):
        return "days", 1
    if u.startswith(("اسبوع", "اسابيع", "week")):
        return "days", 7
    if u.startswith(("شهر", "اشهر", "شهور", "month")):
        return "months", 1
    return "years", 1


def _back(ref: date, n: int, unit: str) -> date:
    kind, size = _unit_days(unit)
    if kind == "days":
        return ref - timedelta(days=n * size)
    months = n * (12 if kind == "years" else 1)
    y, m = divmod(ref.year * 12 + ref.month - 1 - months, 12)
    return date(y, m + 1, min(ref.day, calendar.monthrange(y, m + 1)[1]))


def _prev_month(ref: date) -> _Span:
    first = ref.replace(day=1) - timedelta(days=1)
    return _month_span(first.year, first.month)


Resolver = Callable[[re.Match[str], date], _Span | None]

_AGO = (r"(?:الماضيين|الماضيتين|الماضيه|الماضي|المنصرمين|المنصرمه|المنصرم|الفائته|الفائت|الاخيرين|الاخيرتين"
        r"|الاخيره|الاخير)")
_UNIT = (r"(?:ايام|يوما|يومين|يوم|اسابيع|اسبوعين|اسبوعا|اسبوع|اشهر|شهور|شهرين|شهرا|شهر"
         r"|اعوام|سنوات|عامين|سنتين|عاما|عام|سنه)")
_EN_UNIT = r"(?:days?|weeks?|months?|years?)"
_NUM = r"(?:\d{1,3}|" + "|".join(sorted((k for k in _NUMBERS if not k.startswith(("يوم", "اسبوع", "شهر", "عام", "سن"))),
                                          key=len, reverse=True)) + ")"


def _between(m: re.Match[str], ref: date) -> _Span | None:
    second = _parse_date(m, "b", ref)
    if second is None:
        return None
    # "بين 3 و9 أغسطس": the first date borrows the second's month and year.
    first = _parse_date(m, "a", ref, year_hint=second.first.year)
    bare = m.groupdict().get("abare")
    if first is None and bare:
        try:
            first_day = date(second.first.year, second.first.month, int(bare))
        except ValueError:
            return None
        first = _Span(first_day, first_day)
    if first is None or first.first > second.last:
        return None
    return _Span(first.first, second.last)


def _until(m: re.Match[str], ref: date) -> _Span | None:
    span = _parse_date(m, "u", ref)
    if span is None:
        return None
    # "before August" ends the day before it starts; "until August" takes it in.
    before = re.match(r"(?:قبل|before)\b", m.group(0), flags=re.IGNORECASE)
    return _Span(OPEN_START, span.first - timedelta(days=1) if before else span.last)


def _since(m: re.Match[str], ref: date) -> _Span | None:
    span = _parse_date(m, "s", ref)
    return _Span(span.first, ref) if span and span.first <= ref else None


def _within(m: re.Match[str], ref: date) -> _Span | None:
    n = _count(m.group("n") or "") if m.groupdict().get("n") else None
    unit = m.group("unit")
    if n is None:
        n = _count(unit) or 1  # "يومين", "أسبوعين": the dual carries the number
    return _Span(_back(ref, n, unit), ref)


def _on(m: re.Match[str], ref: date) -> _Span | None:
    return _parse_date(m, "o", ref)


def _full_date(m: re.Match[str], ref: date) -> _Span | None:
    again = re.fullmatch(_date_re("o"), m.group(0), flags=re.IGNORECASE)
    return _parse_date(again, "o", ref) if again else None


_FIXED: dict[str, Callable[[date], _Span]] = {
    "today": lambda r: _Span(r, r),
    "yesterday": lambda r: _Span(r - timedelta(days=1), r - timedelta(days=1)),
    "day_before": lambda r: _Span(r - timedelta(days=2), r - timedelta(days=2)),
    "last_week": lambda r: _Span(r - timedelta(days=7), r - timedelta(days=1)),
    "this_week": lambda r: _Span(r - timedelta(days=6), r),
    "last_month": _prev_month,
    "this_month": lambda r: _Span(r.replace(day=1), r),
    "last_year": lambda r: _Span(date(r.year - 1, 1, 1), date(r.year - 1, 12, 31)),
    "this_year": lambda r: _Span(date(r.year, 1, 1), r),
}

# Words before "اليوم" that make it a name (Al-Yaum, Ain Al-Yaum), folded.
_NAMED_TODAY = frozenset(fold("صحيفة لصحيفة بصحيفة وصحيفة جريدة لجريدة بجريدة موقع عين قناة لقناة برنامج").split())

_RELATIVE: tuple[tuple[str, str], ...] = (
    ("day_before", r"اول\s+(?:من\s+)?امس|the day before yesterday"),
    ("yesterday", rf"{_W}(?:امس|البارحه)|yesterday"),
    ("last_week", rf"(?:خلال\s+|في\s+)?{_W}الاسبوع\s+{_AGO}|(?:last|past|the past|the last)\s+week"),
    ("this_week", r"(?:خلال\s+|في\s+)?هذا\s+الاسبوع|this\s+week"),
    ("last_month", rf"(?:خلال\s+|في\s+)?{_W}الشهر\s+{_AGO}|last\s+month|past\s+month"),
    ("this_month", r"(?:خلال\s+|في\s+)?هذا\s+الشهر|this\s+month"),
    ("last_year", rf"(?:خلال\s+|في\s+)?{_W}(?:العام\s+{_AGO}|السنه\s+{_AGO})|last\s+year"),
    ("this_year", r"(?:خلال\s+|في\s+)?(?:هذا\s+العام|هذه\s+السنه)|this\s+year"),
    # "اليوم" is today unless it heads a noun phrase ("اليوم الوطني", the national day).
    ("today", r"{w}اليوم(?!\s+ال)|today".replace("{w}", _W)),
)

def _ago_any(m: re.Match[str], ref: date) -> _Span | None:
    unit = m.group("unit") or m.group("unit2")
    n = _count(m.group("n") or m.group("n2") or "") or _count(unit) or 1
    day = _back(ref, n, unit)
    return _Span(day, day)


_PATTERNS: tuple[tuple[str, Resolver], ...] = (
    (rf"(?:بين|ما\s+بين|between)\s+(?:(?P<abare>{_DAY})(?=\s+(?:و|and))|{_date_re('a')})\s+(?:و\s*|and\s+)"
     rf"{_date_re('b')}", _between),
    (rf"(?:من|from)\s+{_date_re('a')}\s+(?:الي|حتي|لغايه|to|until|till|through)\s+{_date_re('b')}", _between),
    (rf"(?:منذ|since)\s+(?:(?:بدايه|مطلع|اول|the\s+(?:start|beginning)\s+of|early)\s+)?{_date_re('s')}", _since),
    (rf"(?:حتي|لغايه|قبل|until|till|up\s+to|before)\s+(?:(?:نهايه|اواخر|the\s+end\s+of)\s+)?{_date_re('u')}", _until),
    # "the last 5 days", "آخر 5 أيام": the words say it is the past.
    (rf"(?:في\s+اخر|اخر|in\s+the\s+(?:last|past)|over\s+the\s+(?:last|past)|during\s+the\s+(?:last|past)"
     rf"|the\s+(?:last|past)|(?:last|past))\s+(?:ال)?(?P<n>{_NUM})?\s*(?:ال)?(?P<unit>{_UNIT}|{_EN_UNIT})",
     _within),
    # "خلال الأسبوعين الماضيين": only with "الماضي(ة)": "خلال ثلاثة أشهر" is a duration, maybe
    # ahead, and "في عام 1434هـ" a year of another calendar.
    (rf"(?:خلال|في|طوال)\s+(?:ال)?(?P<n>{_NUM})?\s*(?:ال)?(?P<unit>{_UNIT})\s+(?:ال)?{_AGO}", _within),
    (rf"(?:خلال|في|طوال)\s+(?:ال)?(?P<unit>{_UNIT})\s+(?:ال)?(?P<n>{_NUM})\s+(?:ال)?{_AGO}", _within),
    (rf"(?:منذ|قبل)\s+(?P<n>{_NUM})?\s*(?P<unit>{_UNIT})|(?P<n2>{_NUM})\s+(?P<unit2>{_EN_UNIT})\s+ago",
     _ago_any),
    (rf"(?:في|خلال|يوم|on|in|during)\s+(?:the\s+month\s+of\s+)?{_date_re('o')}", _on),
    (rf"(?=شهر\s){_date_re('o')}", _on),
    # Without a preposition only a full date counts: "مارس" alone is also a verb, and a bare
    # year is as often the subject ("ميزانية 2015") as the time of the news.
    (rf"(?:{_YEAR}-\d\d?-\d\d?|{_DAY}/\d\d?/{_YEAR}|{_DAY}\s+{_MONTH}(?:\s*,?\s*{_YEAR})?"
     rf"|{_EN_MONTH}\s+{_DAY}(?:st|nd|rd|th)?(?:\s*,?\s*{_YEAR})?)", _full_date),
)


def _folded(text: str) -> tuple[str, list[int]]:
    """``fold`` with Eastern digits as ASCII, and for each character of the result the
    offset of the character it came from (fold drops diacritics, never adds)."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        f = fold(ch).translate(EASTERN_DIGITS)
        out.append(f)
        where.extend([i] * len(f))
    return "".join(out), where


def find_window(question: str, reference: date) -> Window | None:
    """The first time expression in ``question`` as a date window, or None."""
    text, where = _folded(question)
    found: list[tuple[int, int, _Span]] = []
    for name, pattern in _RELATIVE:
        for m in re.finditer(rf"{_B}(?:{pattern}){_E}", text, flags=re.IGNORECASE):
            before = text[:m.start()].split()[-1:] or [""]
            if name == "today" and before[0] in _NAMED_TODAY:
                continue  # "صحيفة اليوم", "عين اليوم": newspapers, not a day
            found.append((m.start(), m.end(), _FIXED[name](reference)))
    for pattern, resolve in _PATTERNS:
        for m in re.finditer(rf"{_B}(?:{pattern}){_E}", text, flags=re.IGNORECASE):
            span = resolve(m, reference)
            if span is not None:
                found.append((m.start(), m.end(), span))
    if not found:
        return None
    # The longest expression wins ("منذ بداية أغسطس 2015" over "أغسطس 2015"); then the first.
    start, end, span = min(found, key=lambda f: (-(f[1] - f[0]), f[0]))
    a, b = where[start], where[end - 1] + 1
    return Window(span.first, span.last, question[a:b], a, b)


def without(question: str, window: Window) -> str:
    """The question with its time expression taken out (what retrieval should match)."""
    out = question[:window.start] + " " + question[window.end:]
    out = re.sub(r"\s+([؟?.,،])", r"\1", " ".join(out.split())).strip()
    return out.lstrip(",،;؛: ").strip()
