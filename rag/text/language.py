"""Which language a text is in: Arabic when Arabic letters dominate, English for Latin
script, else "other". A guess by counting letters, not a language model."""

from __future__ import annotations

import re

_ARABIC_LETTER = re.compile(
    "[\u0621-\u064a\u0660-\u0669\u066e-\u06d3\u06fa-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefc]"
)
_LATIN_LETTER = re.compile("[A-Za-z]")


def detect_language(text: str) -> str:
    """'ar' when Arabic letters dominate, 'en' for Latin script, else 'other'."""
    ar = len(_ARABIC_LETTER.findall(text))
    la = len(_LATIN_LETTER.findall(text))
    if ar == 0 and la == 0:
        return "other"
    return "ar" if ar >= la else "en"
