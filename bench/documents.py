"""PDF against HTML ingest (issue 17): N documents of P pages each, real Arabic news text
(SaudiNewsNet, one article per page; the seed and XQuAD-ar when ../shared is absent),
printed to PDF by Chromium and written as HTML with the same text. Each folder goes through
`akhbar ingest` in its own process and its own data home; the printing is not timed.

Prints: documents, pages, chunks, wall seconds and chunks/s for each, the PDF/HTML time
ratio (target ≤ 2), and PDF text extraction alone (ms per page).

    python bench/documents.py [--docs 100] [--pages 10]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
NEWS = REPO.parent / "shared" / "eval" / "saudinews" / "2015-07-21.zip"
XQUAD_AR = REPO.parent / "shared" / "eval" / "xquad" / "xquad.ar.json"


def articles(n: int) -> list[tuple[str, str]]:
    """(title, text) of ``n`` articles of 120-600 words."""
    out: list[tuple[str, str]] = []
    if NEWS.exists():
        with zipfile.ZipFile(NEWS) as z:
            for name in z.namelist():
                for a in json.loads(z.read(name)):
                    words = len((a.get("content") or "").split())
                    if 120 <= words <= 600 and a.get("title"):
                        out.append((a["title"], a["content"]))
    elif XQUAD_AR.exists():
        for art in json.loads(XQUAD_AR.read_text(encoding="utf-8"))["data"]:
            out += [(art["title"], p["context"]) for p in art["paragraphs"]]
    else:
        seed = next((REPO / "seeds").glob("*.txt")).read_text(encoding="utf-8").splitlines()
        out = [(seed[0], "\n".join(seed[1:]))]
    return [out[i % len(out)] for i in range(n)]


def document_html(pages: list[tuple[str, str]], title: str) -> str:
    body = ""
    for i, (head, text) in enumerate(pages):
        paras = "".join(f"<p>{html.escape(p)}</p>" for p in text.splitlines() if p.strip())
        body += f"<section style='{'break-before:page' if i else ''}'><h2>{html.escape(head)}</h2>{paras}</section>"
    return (f"<html lang='ar' dir='rtl'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:'DejaVu Sans',sans-serif;font-size:14px;line-height:1.5}</style></head>"
            f"<body>{body}</body></html>")


def ingest(folder: Path, home: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_") or k == "AKHBAR_MODELS_DIR"}
    env |= {"AKHBAR_HOME": str(home), "PYTHONPATH": str(REPO)}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(folder), "--json"], capture_output=True,
                         text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"ingest of {folder} failed: {out.stderr[-1500:]}")
    r = json.loads(out.stdout)
    return {"wall": wall, "documents": r["documents"], "chunks": r["new_chunks"], "errors": len(r["errors"])}


def figures(n_docs: int = 100, n_pages: int = 10) -> None:
    from ingest.documents import from_pdf
    from tests.support.documents import CHROMIUM, print_pdfs

    if not Path(CHROMIUM).exists():
        print("(skipping PDF vs HTML: Debian's chromium is not installed; `make browser`)")
        return
    texts = articles(n_docs * n_pages)
    with tempfile.TemporaryDirectory() as tmp:
        pdf_dir, html_dir = Path(tmp) / "pdf", Path(tmp) / "html"
        pdf_dir.mkdir()
        html_dir.mkdir()
        docs = {}
        for d in range(n_docs):
            pages = texts[d * n_pages:(d + 1) * n_pages]
            doc = document_html(pages, f"نشرة {d + 1}")
            docs[pdf_dir / f"doc{d:03d}.pdf"] = doc
            (html_dir / f"doc{d:03d}.html").write_text(doc, encoding="utf-8")
        t = time.perf_counter()
        print_pdfs(docs)
        print(f"PDF vs HTML: {n_docs} documents of {n_pages} pages (printed by Chromium in "
              f"{time.perf_counter() - t:.0f} s, not timed below)")
        pages = 0
        t = time.perf_counter()
        for path in docs:
            art = next(a for a in from_pdf(path.read_bytes(), str(path)) if not isinstance(a, str))
            pages += len(art.pages)
        extract_s = time.perf_counter() - t
        print(f"  PDF text extraction alone: {pages} pages in {extract_s:.1f} s "
              f"({1000 * extract_s / pages:.0f} ms/page)")
        rows = {"html": ingest(html_dir, Path(tmp) / "home-html"), "pdf": ingest(pdf_dir, Path(tmp) / "home-pdf")}
    for name, r in rows.items():
        print(f"  {name:4}: {r['documents']} documents, {r['chunks']} chunks, {r['errors']} errors in "
              f"{r['wall']:.1f} s ({r['chunks'] / r['wall']:.1f} chunks/s)")
    print(f"  PDF / HTML ingest time: {rows['pdf']['wall'] / rows['html']['wall']:.2f} (target <= 2)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--pages", type=int, default=10)
    args = ap.parse_args()
    figures(args.docs, args.pages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
