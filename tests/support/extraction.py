"""How close extracted text is to the text it came from (tests/unit and tests/integration
test_documents.py): NFKC, harakat and tatweel removed, whitespace collapsed."""

from __future__ import annotations

import difflib
import re
import unicodedata

TABLE = [["المدينة", "العدد"], ["الرياض", "120"], ["جدة", "45"]]


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[\u064b-\u0652\u0640]", "", text)
    return " ".join(text.split())


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, norm(a), norm(b), autojunk=False).ratio()
