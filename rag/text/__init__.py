"""Arabic and English text knowledge, in one home: letters and months (``arabic``), the
language of a text (``language``), sentences and clauses as offsets (``sentences``), and
word lists with the content-word overlap (``words``). Every other module takes its tables
from here; none keeps a copy."""

from rag.text.arabic import (
    AR_UNIFY,
    ARABIC_CHAR,
    ARTICLE_CLITICS,
    CLITICS,
    EASTERN_DIGITS,
    GREGORIAN_MONTHS,
    HIJRI_MONTHS,
    LEXICAL_UNIFY,
    fold,
    spelled_pattern,
    strip_clitic,
    strip_diacritics,
)
from rag.text.language import detect_language
from rag.text.sentences import clause_spans, normalize_for_embedding, sentence_spans, word_spans
from rag.text.words import (
    ASKING,
    BEFORE_DATE,
    DAY_WORDS,
    INTERROGATIVES,
    LEXICAL_STOP,
    MONTH_WORDS,
    NOT_COUNTED,
    OVERLAP_STOP,
    PHRASE_END,
    QUESTION_TYPES_AR,
    QUESTION_TYPES_EN,
    RELATIVE_TIME_WORDS,
    content_words,
    interrogative,
    overlap,
)

__all__ = [
    "ARABIC_CHAR",
    "ARTICLE_CLITICS",
    "AR_UNIFY",
    "ASKING",
    "BEFORE_DATE",
    "CLITICS",
    "DAY_WORDS",
    "EASTERN_DIGITS",
    "GREGORIAN_MONTHS",
    "HIJRI_MONTHS",
    "INTERROGATIVES",
    "LEXICAL_STOP",
    "LEXICAL_UNIFY",
    "MONTH_WORDS",
    "NOT_COUNTED",
    "OVERLAP_STOP",
    "PHRASE_END",
    "QUESTION_TYPES_AR",
    "QUESTION_TYPES_EN",
    "RELATIVE_TIME_WORDS",
    "clause_spans",
    "content_words",
    "detect_language",
    "fold",
    "interrogative",
    "normalize_for_embedding",
    "overlap",
    "sentence_spans",
    "spelled_pattern",
    "strip_clitic",
    "strip_diacritics",
    "word_spans",
]
