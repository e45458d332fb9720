"""A CSL-JSON export rendered by citeproc-py with the first style it ships: what a reference
manager would print (test_export.py, test_ui.py, test_news_native.py)."""

from __future__ import annotations

import json
from pathlib import Path

from citeproc import Citation as CslCitation
from citeproc import CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON

STYLE = next((Path(__import__("citeproc").__file__).parent / "data" / "styles").glob("*.csl"))


def csl_render(text: str) -> list[str]:
    items = json.loads(text)
    bib = CitationStylesBibliography(CitationStylesStyle(str(STYLE), validate=False), CiteProcJSON(items),
                                     formatter.plain)
    for item in items:
        bib.register(CslCitation([CitationItem(item["id"])]))
    return [str(entry) for entry in bib.bibliography()]
