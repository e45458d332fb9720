"""PDF and DOCX fixtures written on the spot, never downloaded: PDFs printed from HTML by
the Chromium the browser tests use (``page.pdf()``: the browser shapes Arabic the way
publishers' tools do), a scan made from one with pypdfium2, an encrypted copy with pypdf,
DOCX written by python-docx. No pytest here, so ``bench/`` uses it too.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support.extraction import TABLE

REPO = Path(__file__).resolve().parent.parent.parent
_SEED = next((REPO / "seeds").glob("*.txt")).read_text(encoding="utf-8").splitlines()
AR_TITLE = _SEED[0]
AR = [line for line in _SEED[1:] if len(line.split()) > 20 and not line.startswith("كتب")][:4]
EN = ["The Ministry of Finance said revenues reached 200 billion riyals in the first half of the year, "
      "up from 171 billion a year earlier.",
      "Officials added that spending rose by 12 percent compared with the same period last year, "
      "driven by projects in health and education.",
      "Analysts at the U.S. bank expect the deficit to narrow to 3.1% of GDP by 2016."]
PORT_FACT = "The port of Jeddah handled 4,812 containers in March, its busiest month since the expansion opened."
HEADER = "نشرة الموانئ الأسبوعية"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
STYLE = ("body{font-family:'DejaVu Sans',sans-serif;font-size:14px;line-height:1.5}"
         ".cols{column-count:2;column-gap:2.5em}.page{break-before:page}"
         "table{border-collapse:collapse}td,th{border:1px solid #444;padding:4px 10px}")


def page_html(lang: str, title: str, sections: Sequence[Sequence[str]], headline: str = "", columns: bool = False,
              table: Sequence[Sequence[str]] = (), doc_title: str = "") -> str:
    """One HTML document: ``headline`` as an h1, then each section (a list of paragraphs)
    on a page of its own; paragraphs in two columns with ``columns``; ``table`` rows after."""
    d = "rtl" if lang == "ar" else "ltr"
    body = f"<h1>{html.escape(headline)}</h1>" if headline else ""
    for i, paras in enumerate(sections):
        ps = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
        cls = ("cols " if columns else "") + ("page" if i else "")
        body += f"<div class='{cls.strip()}'>{ps}</div>"
    if table:
        head, *rows = table
        body += ("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
                 + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                 + "</table>")
    head_title = f"<title>{html.escape(doc_title)}</title>" if doc_title else ""
    return (f"<html lang='{lang}' dir='{d}'><head><meta charset='utf-8'>{head_title}<style>{STYLE}</style></head>"
            f"<body>{body}</body></html>")


def print_pdfs(pages: dict[Path, str], header: str = "", page_numbers: bool = False, browser: Any = None) -> None:
    """Print each HTML document to its PDF path with Chromium (``browser``, a Playwright
    browser already running, else one started here); ``header`` is a running header on
    every page and ``page_numbers`` a footer with the page number."""
    from playwright.sync_api import sync_playwright

    options: dict[str, object] = {"format": "A4", "print_background": True}
    if header or page_numbers:
        options |= {
            "display_header_footer": True,
            "header_template": f"<div style='font-size:10px;width:100%;text-align:center'>{html.escape(header)}</div>",
            "footer_template": ("<div style='font-size:10px;width:100%;text-align:center'>"
                                + ("<span class='pageNumber'></span>" if page_numbers else "") + "</div>"),
            "margin": {"top": "60px", "bottom": "60px", "left": "40px", "right": "40px"},
        }
    def run(b: Any) -> None:
        page = b.new_page()
        for path, doc in pages.items():
            page.set_content(doc, wait_until="load")
            page.pdf(path=str(path), **options)
        page.close()

    if browser is not None:
        run(browser)
        return
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        run(b)
        b.close()


def bulletin_pdf(path: Path, browser: Any = None) -> str:
    """A three-page bulletin (Arabic, English, Arabic) with a running header and page
    numbers, its title "Port bulletin", the port fact on page 2; returns its text."""
    doc = page_html("ar", "", [AR[:2], [EN[0], PORT_FACT, EN[1]], AR[2:4]], headline=AR_TITLE,
                    doc_title="Port bulletin")
    print_pdfs({path: doc}, header=HEADER, page_numbers=True, browser=browser)
    return "\n".join([AR_TITLE, *AR[:2], EN[0], PORT_FACT, EN[1], *AR[2:4]])


def write_docx(path: Path, title: str, author: str, heading: str, paragraphs: Sequence[str],
               table: Sequence[Sequence[str]] = (), rtl: bool = True) -> None:
    """A .docx with core properties, a heading, body paragraphs and a table."""
    import datetime

    import docx

    document = docx.Document()
    props = document.core_properties
    props.title, props.author = title, author
    props.created = datetime.datetime(2015, 8, 3, 9, 30, tzinfo=datetime.UTC)
    document.add_heading(heading, level=1)
    for p in paragraphs:
        para = document.add_paragraph(p)
        if rtl:
            para.paragraph_format.alignment = 2  # right
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    document.save(str(path))


def image_only_pdf(source: Path, dest: Path) -> None:
    """``source``'s pages as pictures only: a PDF with no text layer, like a scan (pypdfium2
    renders each page at 100 dpi and draws the picture over a new page of the same size)."""
    import pypdfium2 as pdfium

    src, out = pdfium.PdfDocument(source), pdfium.PdfDocument.new()
    try:
        for i in range(len(src)):
            page = src[i]
            width, height = page.get_size()
            bitmap = page.render(scale=100 / 72)
            new = out.new_page(width, height)
            image = pdfium.PdfImage.new(out)
            image.set_bitmap(bitmap)
            image.set_matrix(pdfium.PdfMatrix().scale(width, height))
            new.insert_obj(image)
            new.gen_content()
        out.save(dest)
    finally:
        out.close()
        src.close()


def encrypted_pdf(source: Path, dest: Path, password: str = "akhbar") -> None:
    """``source`` encrypted with a user password (pypdf; RC4-128, which needs no crypto library)."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=source)
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    with open(dest, "wb") as f:
        writer.write(f)


def fixture_pdfs(folder: Path, browser: Any = None) -> dict[str, tuple[Path, str]]:
    """The PDFs the tests and bench/pdf_extractors.py read, printed into ``folder``: name →
    (path, the text it was printed from). Arabic in one column, in an e-paper's two columns
    and with a table; English in one column; three pages with a running header and page
    numbers (the port fact on page 2)."""
    specs: dict[str, tuple[str, str]] = {
        "ar-one-column": (page_html("ar", "", [AR], headline=AR_TITLE), "\n".join([AR_TITLE, *AR])),
        "ar-two-columns": (page_html("ar", "", [AR + AR[:2]], headline=AR_TITLE, columns=True),
                           "\n".join([AR_TITLE, *AR, *AR[:2]])),
        "ar-table": (page_html("ar", "", [AR[:2]], headline=AR_TITLE, table=TABLE),
                     "\n".join([AR_TITLE, *AR[:2], *(" ".join(r) for r in TABLE)])),
        "en-one-column": (page_html("en", "", [EN], headline="Revenues rise"), "\n".join(["Revenues rise", *EN])),
    }
    print_pdfs({folder / f"{name}.pdf": doc for name, (doc, _) in specs.items()}, browser=browser)
    out = {name: (folder / f"{name}.pdf", text) for name, (_, text) in specs.items()}
    out["paged"] = (folder / "paged.pdf", bulletin_pdf(folder / "paged.pdf", browser=browser))
    return out
