"""Publication dates → ISO 8601 (``YYYY-MM-DD``, or ``YYYY-MM-DDTHH:MM:SS[+HH:MM]`` when a
time is given).

Handles the forms news archives actually contain: ISO strings, RFC 822 feed dates, numeric
``DD/MM/YYYY``, English month names, and Arabic month names in both the Egyptian/Gulf series
(يناير … ديسمبر) and the Levantine series (كانون الثاني … كانون الأول), with Western or Eastern
Arabic digits and optional weekday names. Returns ``""`` for what it cannot read rather than
guessing.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from rag.text import EASTERN_DIGITS

_AR_MONTHS = {
    "يناير": 1, "كانون الثاني": 1, "جانفي": 1,
    "فبراير": 2, "شباط": 2, "فيفري": 2,
    "مارس": 3, "آذار": 3, "اذار": 3,
    "أبريل": 4, "ابريل": 4, "إبريل": 4, "نيسان": 4, "أفريل": 4,
    "مايو": 5, "أيار": 5, "ايار": 5, "ماي": 5,
    "يونيو": 6, "يونيه": 6, "حزيران": 6, "جوان": 6,
    "يوليو": 7, "يوليه": 7, "تموز": 7, "جويلية": 7,
    "أغسطس": 8, "اغسطس": 8, "آب": 8, "اب": 8, "أوت": 8,
    "سبتمبر": 9, "أيلول": 9, "ايلول": 9,
    "أكتوبر": 10, "اكتوبر": 10, "تشرين الأول": 10, "تشرين الاول": 10,
    "نوفمبر": 11, "تشرين الثاني": 11,
    "ديسمبر": 12, "كانون الأول": 12, "كانون الاول": 12,
}
_EN_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}

# Longest names first so "كانون الثاني" wins over a shorter overlap.
_AR_MONTH_RE = "|".join(sorted((re.escape(m) for m in _AR_MONTHS), key=len, reverse=True))
_AR_DATE = re.compile(rf"(\d{{1,2}})\s*(?:من\s+)?({_AR_MONTH_RE})\s*[،,]?\s*(?:سنة|عام)?\s*(\d{{4}})")
_EN_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_EN_MDY = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?\b")
_NUMERIC = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
_YMD_SLASH = re.compile(r"\b(\d{4})/(\d{1,2})/(\d{1,2})\b")


def _valid(y: int, m: int, d: int) -> str:
    try:
        return datetime(y, m, d).date().isoformat()
    except ValueError:
        return ""


def parse_date(value: object) -> str:
    """ISO 8601 for a date-like value, or ``""``."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return ""
    if isinstance(value, (int, float)):  # a Unix timestamp, in seconds or (JSON feeds) milliseconds
        seconds = float(value)
        if not math.isfinite(seconds) or seconds <= 0:
            return ""
        if seconds > 1e11:
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return ""
    text = str(value).translate(EASTERN_DIGITS).strip()
    if not text:
        return ""
    m = _ISO.search(text)
    if m:
        date = _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if date and m.group(4):
            tz = m.group(7) or ""
            tz = "+00:00" if tz == "Z" else (tz[:3] + ":" + tz[-2:] if tz else "")
            return f"{date}T{m.group(4)}:{m.group(5)}:{m.group(6) or '00'}{tz}"
        if date:
            return date
    if re.search(r"\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{2}:\d{2}", text):
        try:
            return parsedate_to_datetime(text).isoformat()
        except (TypeError, ValueError, IndexError):
            pass
    m = _AR_DATE.search(text)
    if m:
        return _valid(int(m.group(3)), _AR_MONTHS[m.group(2)], int(m.group(1)))
    m = _EN_DMY.search(text)
    if m and m.group(2)[:3].lower() in _EN_MONTHS:
        return _valid(int(m.group(3)), _EN_MONTHS[m.group(2)[:3].lower()], int(m.group(1)))
    m = _EN_MDY.search(text)
    if m and m.group(1)[:3].lower() in _EN_MONTHS:
        return _valid(int(m.group(3)), _EN_MONTHS[m.group(1)[:3].lower()], int(m.group(2)))
    m = _YMD_SLASH.search(text)
    if m:
        return _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _NUMERIC.search(text)
    if m:  # day first, as in Arabic and European newsrooms
        return _valid(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return ""
