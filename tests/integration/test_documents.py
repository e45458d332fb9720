"""PDF and Word files (ingest.documents): Arabic in logical order from PDFs Chromium prints
(one column, an e-paper's two columns, a table, several pages with running headers and
page numbers), metadata (info dictionary, else XMP, else the first heading), DOCX paragraphs
and properties, one clear line for each PDF that cannot be read (image-only, encrypted,
truncated) with nothing stored, and the page number in an answer's citation and in every
export format, read back by the real parsers. Scans and encrypted copies are made with
pypdfium2 and pypdf (tests/support/documents.py)."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import bibtexparser
import pytest
import rispy
from citeproc.source.json import CiteProcJSON

from ingest.article import Article
from ingest.documents import from_pdf
from ingest.formats import Limits, Note, Problem, read_file
from rag import Akhbar, Config
from rag.embedder import SentenceTransformerEmbedder
from rag.llm import LlamaCppLLM
from rag.types import page_at
from tests.support.documents import (
    AR,
    AR_TITLE,
    CHROMIUM,
    HEADER,
    encrypted_pdf,
    fixture_pdfs,
    image_only_pdf,
    write_docx,
)
from tests.support.extraction import norm, similarity


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """name → (PDF path, the text it was printed from)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium); .ci/run installs it"
    return fixture_pdfs(tmp_path_factory.mktemp("pdfs"))


def _article(path: Path) -> tuple[Article, list[str]]:
    items = list(from_pdf(path.read_bytes(), str(path)))
    assert isinstance(items[0], Article)
    return items[0], [i for i in items[1:] if isinstance(i, str)]


# ------------------------------------------------------------------------ extraction


@pytest.mark.parametrize("name", ["ar-one-column", "ar-two-columns", "ar-table", "en-one-column", "paged"])
def test_pdf_text_is_the_text_it_was_printed_from(pdfs: dict[str, tuple[Path, str]], name: str) -> None:
    path, source = pdfs[name]
    article, notes = _article(path)
    assert similarity(source, article.text) >= 0.98, article.text[:600]
    assert not notes  # a text layer: no OCR
    # Logical order, not visual: the Astana sentence with its number where it belongs.
    if "22 اجتماع" in norm(source):
        assert "ما مجموعه 22 اجتماع" in norm(article.text)
    if name.startswith("ar"):
        assert "(روسيا وتركيا وإيران)" in article.text
        assert "\u200f" not in article.text and not re.search("[\ufb50-\ufdff\ufe70-\ufeff]", article.text)


def test_two_columns_read_right_column_first(pdfs: dict[str, tuple[Path, str]]) -> None:
    article, _ = _article(pdfs["ar-two-columns"][0])
    text = norm(article.text)
    # The columns hold AR, then AR[:2] again: each paragraph's first occurrence is in order.
    firsts = [text.find(norm(p)[:60]) for p in AR]
    assert all(f >= 0 for f in firsts) and firsts == sorted(firsts), firsts


def test_pages_are_kept_and_running_headers_and_page_numbers_dropped(pdfs: dict[str, tuple[Path, str]]) -> None:
    article, _ = _article(pdfs["paged"][0])
    assert len(article.pages) == 3 and article.pages[0] == 0
    assert HEADER not in article.text
    assert not any(re.fullmatch(r"\s*\d+\s*", line) for line in article.text.splitlines())
    pages = ",".join(map(str, article.pages))
    assert page_at(pages, article.text.index("4,812")) == 2
    assert page_at(pages, article.text.index(" ".join(AR[0].split()[:3]))) == 1
    assert page_at(pages, article.text.rindex(" ".join(AR[3].split()[:3]))) == 3
    assert article.title == "Port bulletin"  # the PDF's own title


def test_metadata_from_the_pdf_info_else_xmp_else_the_first_heading(pdfs: dict[str, tuple[Path, str]],
                                                                   tmp_path: Path) -> None:
    import pypdf
    from pypdf.xmp import XmpInformation

    # Chromium's title for a page without <title> is about:blank: not a title.
    article, _ = _article(pdfs["ar-one-column"][0])
    assert article.title == AR_TITLE
    writer = pypdf.PdfWriter(clone_from=pdfs["ar-one-column"][0])
    writer.add_metadata({"/Title": "بيان صحفي: روسيا وإيران وتركيا", "/Author": "وكالة الأنباء",
                         "/CreationDate": "D:20150803093000+03'00'"})
    writer.write(tmp_path / "meta.pdf")
    article, _ = _article(tmp_path / "meta.pdf")
    assert (article.title, article.byline, article.date[:10]) == ("بيان صحفي: روسيا وإيران وتركيا", "وكالة الأنباء",
                                                                 "2015-08-03")
    # No title, author or date in the info dictionary: the XMP packet's.
    writer = pypdf.PdfWriter(clone_from=pdfs["ar-one-column"][0])
    writer.add_metadata({"/Title": "about:blank", "/CreationDate": ""})
    xmp = XmpInformation.create()
    xmp.dc_title = {"x-default": "نشرة الموانئ"}
    xmp.dc_creator = ["إدارة الإعلام"]
    xmp.xmp_create_date = datetime.datetime(2015, 8, 4, 10, 0)
    writer.xmp_metadata = xmp
    writer.write(tmp_path / "xmp.pdf")
    article, _ = _article(tmp_path / "xmp.pdf")
    assert (article.title, article.byline, article.date[:10]) == ("نشرة الموانئ", "إدارة الإعلام", "2015-08-04")


# -------------------------------------------------------------------- what is refused


def _bad_files(pdfs: dict[str, tuple[Path, str]], d: Path) -> dict[str, str]:
    """file name → the words its one line must hold."""
    d.mkdir(parents=True, exist_ok=True)
    source = pdfs["ar-one-column"][0]
    image_only_pdf(source, d / "scan.pdf")
    encrypted_pdf(source, d / "locked.pdf")
    raw = source.read_bytes()
    (d / "cut.pdf").write_bytes(raw[: len(raw) // 2])
    (d / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    expect = {"locked.pdf": "encrypted", "cut.pdf": "truncated", "broken.docx": "not a readable Word"}
    if not shutil.which("tesseract"):
        expect["scan.pdf"] = "no text layer"
    return expect


def test_unreadable_files_each_get_one_clear_line(pdfs: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    expect = _bad_files(pdfs, tmp_path / "bad")
    for name, words in expect.items():
        items = list(read_file(tmp_path / "bad" / name, Limits()))
        assert len(items) == 1 and isinstance(items[0], Problem), (name, items)
        assert words in items[0].reason and name in items[0].source and "\n" not in items[0].reason
    if "scan.pdf" in expect:
        assert "tesseract-ocr" in next(iter(read_file(tmp_path / "bad" / "scan.pdf", Limits()))).reason  # type: ignore[union-attr]
    else:  # OCR installed: read, and said so
        items = list(read_file(tmp_path / "bad" / "scan.pdf", Limits()))
        assert any(isinstance(i, Article) for i in items) and any(isinstance(i, Note) and "OCR" in i.message
                                                                  for i in items)


def test_a_zip_of_pdf_and_docx_reads_both(pdfs: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    write_docx(tmp_path / "release.docx", "بيان", "", AR_TITLE, AR[:2])
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as z:
        z.write(pdfs["paged"][0], "bulletins/paged.pdf")
        z.write(tmp_path / "release.docx", "release.docx")
    items = list(read_file(tmp_path / "bundle.zip", Limits()))
    arts = {Path(a.source_path.split("!")[1]).name: a for a in items if isinstance(a, Article)}
    assert set(arts) == {"paged.pdf", "release.docx"} and len(arts["paged.pdf"].pages) == 3


@pytest.mark.store
def test_bad_pdfs_leave_the_store_as_it_was(pdfs: dict[str, tuple[Path, str]], bot: Akhbar, tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(pdfs["paged"][0], good / "paged.pdf")
    first = bot.ingest(good)
    assert first.documents == 1 and first.new_chunks > 0 and not first.errors, first.summary()
    before = bot.stats()
    ids = {d.doc_id for d in bot.documents()}
    expect = _bad_files(pdfs, tmp_path / "bad")
    if "scan.pdf" not in expect:
        (tmp_path / "bad" / "scan.pdf").unlink()  # OCR would read it: not a refusal to check here
    report = bot.ingest(tmp_path / "bad")
    assert len(report.errors) == len(expect) and report.new_chunks == 0
    for name, words in expect.items():
        assert any(name in src and words in why for src, why in report.errors), report.errors
    after = bot.stats()
    assert (after.documents, after.chunks) == (before.documents, before.chunks)
    assert {d.doc_id for d in bot.documents()} == ids
    # Re-ingesting the good PDF unchanged stores nothing twice.
    again = bot.ingest(good)
    assert again.new_chunks == 0 and again.skipped == 1


# --------------------------------------------------------- the page, end to end


@pytest.mark.store
@pytest.mark.models
def test_an_answer_from_a_pdf_cites_its_page_in_every_export(pdfs: dict[str, tuple[Path, str]],
                                                             prepared_config: Config, tmp_path: Path,
                                                             embedder: SentenceTransformerEmbedder,
                                                             llm_15b: LlamaCppLLM) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(pdfs["paged"][0], folder / "bulletin.pdf")
    bot = Akhbar(prepared_config.with_overrides(home=tmp_path / "home"), embedder=embedder, llm=llm_15b)
    assert bot.ingest(folder).documents == 1
    answer = bot.ask("How many containers did the port of Jeddah handle in March?")
    assert "4,812" in answer.text, answer.text
    cite = next(c for c in answer.citations if c.source_path.endswith("bulletin.pdf"))
    assert cite.page == 2 and "4,812" in cite.quote
    assert answer.to_dict()["citations"][0]["page"] == 2

    csl = json.loads(answer.export("csl-json"))
    assert csl[0]["page"] == "2"
    assert str(CiteProcJSON(csl)[csl[0]["id"]].page) == "2"  # citeproc-py reads it as the page
    bib = bibtexparser.parse_string(answer.export("bibtex"))
    assert bib.entries[0].fields_dict["pages"].value == "2"
    ris = rispy.loads(answer.export("ris"))
    assert ris[0]["start_page"] == "2"
    rows = list(csv.DictReader(io.StringIO(answer.export("csv"))))
    assert rows[0]["page"] == "2"
    assert "p. 2" in answer.export("markdown")
    assert json.loads(answer.export("json"))["citations"][0]["page"] == 2
