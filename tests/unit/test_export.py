"""Citation exports read back with real parsers: citeproc-py, bibtexparser, rispy, csv."""

from __future__ import annotations

import csv
import io
import json

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware

from rag import EXPORT_FORMATS, AkhbarError, Answer, Citation
from rag.export import safe_cell
from tests.support.csl import csl_render as _csl_render

TITLE = "موسكو: روسيا وإيران وتركيا {على} اتصال 100% & <script>alert(1)</script>"
AUTHOR = "محمد السيدميداني and Reuters"
HOSTILE_QUOTE = '=HYPERLINK("http://evil.example/x","اضغط هنا")'


def _answer() -> Answer:
    c1 = Citation(number=1, doc_id="d1", title=TITLE, source_path="/archive/a.txt", quote="منذ يناير2017.",
                  byline=AUTHOR, date="2024-09-12", site="روسيا اليوم", url="https://arabic.rt.com/a?x=1&y=2",
                  quote_start=10, quote_end=24)
    c2 = Citation(number=2, doc_id="d2", title="![pixel](http://evil.example/p.png) Headline", source_path="/b.html",
                  quote=HOSTILE_QUOTE, attributed=True, date="2023-01")
    return Answer(question="منذ متى؟", text="منذ يناير 2017 [1]. وقالت المصادر ذلك [2].", language="ar",
                  citations=(c1, c2), asked_at="2026-11-29T05:00:00+00:00")


def test_csl_json_renders_with_citeproc_including_arabic() -> None:
    text = _answer().export("csl-json")
    items = json.loads(text)
    assert items[0]["title"] == TITLE and items[0]["author"] == [{"literal": AUTHOR}]
    assert items[0]["container-title"] == "روسيا اليوم" and items[0]["issued"] == {"date-parts": [[2024, 9, 12]]}
    assert items[0]["accessed"] == {"date-parts": [[2026, 11, 29]]} and items[0]["note"] == "منذ يناير2017."
    assert items[1]["issued"] == {"date-parts": [[2023, 1]]} and items[1]["source"] == "/b.html"
    rendered = _csl_render(text)
    assert len(rendered) == 2
    first = next(r for r in rendered if "موسكو" in r)
    assert AUTHOR in first and "روسيا اليوم" in first and "2024" in first and "arabic.rt.com" in first


def test_bibtex_parses_back_with_escapes_decoded() -> None:
    lib = bibtexparser.parse_string(_answer().export("bibtex"), append_middleware=[LatexDecodingMiddleware()])
    assert not lib.failed_blocks and len(lib.entries) == 2
    e = lib.entries[0].fields_dict
    # Braces, %, & and markup in a title survive the round trip exactly.
    assert e["title"].value == TITLE
    assert e["author"].value.strip("{}") == AUTHOR  # one name, not split on "and"
    assert e["journal"].value == "روسيا اليوم" and e["year"].value == "2024" and e["date"].value == "2024-09-12"
    assert e["urldate"].value == "2026-11-29" and "arabic.rt.com/a?x=1&y=2" in e["url"].value
    assert e["note"].value == "منذ يناير2017."


def test_ris_parses_back() -> None:
    entries = rispy.loads(_answer().export("ris"))
    assert len(entries) == 2
    e = entries[0]
    assert e["type_of_reference"] == "NEWS" and e["title"] == TITLE and e["authors"] == [AUTHOR]
    assert e["secondary_title"] == "روسيا اليوم" and e["year"] == "2024" and e["date"] == "2024/09/12"
    assert e["urls"] == ["https://arabic.rt.com/a?x=1&y=2"] and e["access_date"] == "2026-11-29"
    assert e["notes"] == ["منذ يناير2017."]


def test_csv_parses_back_and_neutralises_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(_answer().export("csv"))))
    assert [r["title"] for r in rows] == [TITLE, "![pixel](http://evil.example/p.png) Headline"]
    assert rows[0]["author"] == AUTHOR and rows[0]["site"] == "روسيا اليوم" and rows[0]["accessed"] == "2026-11-29"
    # A spreadsheet must show the formula as text, not run it.
    assert rows[1]["quote"] == "'" + HOSTILE_QUOTE and rows[1]["attributed"] == "yes"
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "＝1"):
        assert safe_cell(bad).startswith("'")
    assert safe_cell("منذ 2017") == "منذ 2017"


def test_markdown_footnotes_and_inert_markup() -> None:
    md = _answer().export("markdown")
    assert "منذ يناير 2017 [^1]." in md and "[^1]: " in md and "[^2]: " in md
    assert "accessed 2026-11-29" in md and "“منذ يناير2017.”" in md
    # Article markup stays text: no live image, no tag.
    assert "![pixel](" not in md and "<script>" not in md
    assert r"\!\[pixel\]\(http://evil.example/p.png\)" in md and r"\<script\>" in md


def test_json_is_the_whole_answer_and_unknown_format_is_named() -> None:
    a = _answer()
    assert json.loads(a.export("json")) == json.loads(json.dumps(a.to_dict(), ensure_ascii=False))
    with pytest.raises(AkhbarError, match="unknown export format 'docx'"):
        a.export("docx")
    assert set(EXPORT_FORMATS) == {"csl-json", "bibtex", "ris", "csv", "markdown", "json"}
