"""Arabic text knowledge, in one place: letter forms unified for matching, diacritics,
Eastern digits, the clitics written onto a word, and the month names of both Gregorian series
and the Hijri calendar. Pure tables and functions; folding is for matching, never for display.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Harakat, tanween, shadda, sukun, superscript alef, Quranic annotation marks.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
# Any character of the Arabic block (letters, digits, punctuation, marks).
ARABIC_CHAR = re.compile("[\u0600-\u06ff]")

# Alef/yaa/taa-marbuta variants, so one word spelled two ways matches (not written back).
AR_UNIFY = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
# Arabic-Indic and Persian digits to ASCII.
EASTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Clitics written onto an Arabic word (conjunction, preposition, article), longest first.
CLITICS = ("وال", "بال", "كال", "فال", "لل", "ال", "و", "ب", "ل", "ف")

# Arabic month names, folded (``fold``), to their number: one table for reading time words in
# a question (rag.when), telling a date in an answer (rag.reader) and drawing dates as training
# answers (rag.teach). The Gregorian months in the Egyptian/Gulf series with the spellings the
# papers use ("يونيه", "ماي", "غشت") and in the Levantine series, where "آب" (August) is also the
# word "father": only a date construct makes it a month. The Hijri months, which Saudi news
# dates by beside the Gregorian; they are not converted to Gregorian dates.
_GREGORIAN = {
    "يناير": 1, "فبراير": 2, "مارس": 3, "أبريل": 4, "إبريل": 4, "مايو": 5, "ماي": 5, "يونيو": 6, "يونيه": 6,
    "يوليو": 7, "يوليه": 7, "أغسطس": 8, "غشت": 8, "سبتمبر": 9, "أكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
    "كانون الثاني": 1, "شباط": 2, "آذار": 3, "نيسان": 4, "أيار": 5, "حزيران": 6, "تموز": 7, "آب": 8,
    "أيلول": 9, "تشرين الأول": 10, "تشرين الثاني": 11, "كانون الأول": 12,
}
_HIJRI = {
    "محرم": 1, "صفر": 2, "ربيع الأول": 3, "ربيع الثاني": 4, "ربيع الآخر": 4, "جمادى الأولى": 5,
    "جمادى الآخرة": 6, "جمادى الثانية": 6, "رجب": 7, "شعبان": 8, "رمضان": 9, "شوال": 10,
    "ذو القعدة": 11, "ذي القعدة": 11, "ذو الحجة": 12, "ذي الحجة": 12,
}


def _fold_table(table: dict[str, int]) -> dict[str, int]:
    return {fold(name): number for name, number in table.items()}


def spelled_pattern(folded: Iterable[str]) -> str:
    """A regex alternation matching folded words as they are written in unfolded text (each
    alef in any of its hamza forms, ي also ى, ه also ة), longest first so a two-word name
    wins over its first word."""
    forms = {"ا": "[اأإآٱ]", "ي": "[يى]", "ه": "[هة]", " ": r"\s+"}
    spelled = ("".join(forms.get(c, re.escape(c)) for c in w)
               for w in sorted(set(folded), key=len, reverse=True))
    return "(?:" + "|".join(spelled) + ")"


def fold(text: str) -> str:
    """For matching, never for display: diacritics out, alef/yaa/taa-marbuta unified, lower case."""
    return strip_diacritics(text).translate(AR_UNIFY).lower()


def strip_clitic(word: str, keep: int = 3) -> str:
    """``word`` without its first clitic, if at least ``keep`` letters remain
    ("وروسيا" → "روسيا", "بالجيش" → "جيش")."""
    for prefix in CLITICS:
        if len(word) >= len(prefix) + keep and word.startswith(prefix):
            return word[len(prefix):]
    return word


def strip_diacritics(text: str) -> str:
    """Remove Arabic diacritics and tatweel; everything else is left as it is."""
    return _DIACRITICS.sub("", text).replace(_TATWEEL, "")


GREGORIAN_MONTHS = _fold_table(_GREGORIAN)
HIJRI_MONTHS = _fold_table(_HIJRI)



# BM25's broader unification (hamza on waw/yaa too): recall over a whole archive, where
# AR_UNIFY serves word matching within a few sentences.
LEXICAL_UNIFY = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})
# A conjunction or preposition glued in front of the article, which Snowball's stemmer keeps.
ARTICLE_CLITICS = ("وال", "فال", "بال", "كال")
