"""PDF text extraction before and after PyMuPDF was replaced by pypdfium2 (issue 32, item 6),
on the same files in one run: the test fixtures (tests/support/documents.py: Arabic in one
column, two columns, with a table; English; three pages with a running header and page
numbers) and N documents of P pages of real Arabic news (SaudiNewsNet, as bench/documents.py
prints them), all printed by Chromium; the printing is not timed.

For each extractor: character similarity to the text each PDF was printed from (NFKC,
harakat removed; tests/support/extraction.py) and ms per page, each file read R times and
the fastest run kept, the extractors taking turns so that a busy machine slows both alike.

"pypdfium2" is ``ingest.documents.from_pdf`` as it is now. "PyMuPDF" is the module as it was
before the change (``git show {BEFORE}:ingest/documents.py``), run only where git and the
pymupdf package are both there (it is no longer a dependency: ``pip install pymupdf``).

    python bench/pdf_extractors.py [--docs 20] [--pages 10] [--repeat 5] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BEFORE = "8bd649df4a028ad795a2c8dd8f4b1ad5cd5739ab"  # the last commit that read PDFs with PyMuPDF

Extract = Callable[[bytes, str], Any]


def cpu() -> str:
    """The CPU's model name and the instruction sets that matter here."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")
    return f"{model}, {os.cpu_count()} cores, " + " ".join(f for f in wanted if f in flags)


def before() -> Extract | None:
    """``from_pdf`` as it was with PyMuPDF, or None where it cannot run here."""
    if importlib.util.find_spec("pymupdf") is None:
        return None
    try:
        source = subprocess.run(["git", "show", f"{BEFORE}:ingest/documents.py"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("documents_pymupdf")
    exec(compile(source, "documents_pymupdf.py", "exec"), module.__dict__)
    return module.from_pdf


def article(extract: Extract, raw: bytes, name: str) -> Any:
    return next(a for a in extract(raw, name) if not isinstance(a, str))


def timed(extract: Extract, raws: list[tuple[str, bytes]]) -> tuple[float, int]:
    """Seconds to read every file once, and their pages."""
    pages = 0
    start = time.perf_counter()
    for name, raw in raws:
        pages += len(article(extract, raw, name).pages)
    return time.perf_counter() - start, pages


def measure(extractors: dict[str, Extract], files: dict[str, tuple[Path, str]], repeat: int) -> dict[str, Any]:
    """Per file and extractor: similarity and the fastest ms/page; over all files: the
    fastest total ms/page and the mean and lowest similarity."""
    from tests.support.extraction import similarity

    raws = {name: (str(path), path.read_bytes()) for name, (path, _) in files.items()}
    out: dict[str, Any] = {"files": {}, "all": {}}
    for name, (_, text) in files.items():
        row: dict[str, Any] = {}
        for ex, extract in extractors.items():
            got = article(extract, raws[name][1], raws[name][0])
            row[ex] = {"similarity": similarity(text, got.text), "pages": len(got.pages)}
        out["files"][name] = row
    best: dict[str, float] = dict.fromkeys(extractors, float("inf"))
    pages = 0
    for _ in range(repeat):
        for ex, extract in extractors.items():  # in turn, so that other load hits both
            seconds, pages = timed(extract, list(raws.values()))
            best[ex] = min(best[ex], seconds)
    per_file: dict[str, dict[str, float]] = {name: dict.fromkeys(extractors, float("inf")) for name in files}
    for _ in range(repeat):
        for name in files:
            for ex, extract in extractors.items():
                seconds, n = timed(extract, [raws[name]])
                per_file[name][ex] = min(per_file[name][ex], 1000 * seconds / n)
    for name in files:
        for ex in extractors:
            out["files"][name][ex]["ms_per_page"] = per_file[name][ex]
    for ex in extractors:
        sims = [out["files"][name][ex]["similarity"] for name in files]
        out["all"][ex] = {"ms_per_page": 1000 * best[ex] / pages, "pages": pages,
                          "similarity_mean": statistics.mean(sims), "similarity_min": min(sims)}
    return out


def news_pdfs(folder: Path, n_docs: int, n_pages: int) -> dict[str, tuple[Path, str]]:
    """bench/documents.py's documents: one news article per page, an h2 title over its text."""
    from bench.documents import articles, document_html
    from tests.support.documents import print_pdfs

    texts = articles(n_docs * n_pages)
    files, docs = {}, {}
    for d in range(n_docs):
        pages = texts[d * n_pages:(d + 1) * n_pages]
        path = folder / f"news{d:03d}.pdf"
        docs[path] = document_html(pages, f"نشرة {d + 1}")
        files[path.stem] = (path, "\n".join(f"{title}\n{body}" for title, body in pages))
    print_pdfs(docs)
    return files


def table(title: str, result: dict[str, Any], extractors: list[str]) -> str:
    head = " | ".join(f"{ex} similarity | {ex} ms/page" for ex in extractors)
    lines = [f"{title}", "", f"| file | pages | {head} |", "|---|---|" + "---|---|" * len(extractors)]
    for name, row in result["files"].items():
        cells = " | ".join(f"{row[ex]['similarity']:.4f} | {row[ex]['ms_per_page']:.2f}" for ex in extractors)
        lines.append(f"| {name} | {row[extractors[0]]['pages']} | {cells} |")
    cells = " | ".join(f"{result['all'][ex]['similarity_mean']:.4f} (min {result['all'][ex]['similarity_min']:.4f}) | "
                       f"{result['all'][ex]['ms_per_page']:.2f}" for ex in extractors)
    lines.append(f"| all, read in turn | {result['all'][extractors[0]]['pages']} | {cells} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20, help="news documents (0: the fixtures only)")
    ap.add_argument("--pages", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()

    from ingest.documents import from_pdf
    from tests.support.documents import CHROMIUM, fixture_pdfs

    if not Path(CHROMIUM).exists():
        print("Debian's chromium is needed to print the PDFs (`make browser`)")
        return 1
    extractors: dict[str, Extract] = {"pypdfium2": from_pdf}
    old = before()
    if old is None:
        print(f"(PyMuPDF skipped: it needs the pymupdf package and git history with {BEFORE[:7]})")
    else:
        extractors = {"PyMuPDF": old, **extractors}
    load = os.getloadavg()[0]
    print(f"CPU: {cpu()}; load average {load:.2f} at the start")
    report: dict[str, Any] = {"cpu": cpu(), "load_start": load}
    with tempfile.TemporaryDirectory() as tmp:
        fixtures = fixture_pdfs(Path(tmp))
        report["fixtures"] = measure(extractors, fixtures, max(args.repeat, 10))
        print(table("Test fixtures", report["fixtures"], list(extractors)))
        if args.docs:
            news = news_pdfs(Path(tmp), args.docs, args.pages)
            report["news"] = measure(extractors, news, args.repeat)
            print()
            print(table(f"News: {args.docs} documents of {args.pages} pages (SaudiNewsNet where ../shared has it)",
                        report["news"], list(extractors)))
    report["load_end"] = os.getloadavg()[0]
    print(f"load average {report['load_end']:.2f} at the end")
    if len(extractors) == 2:
        for part in ("fixtures", "news"):
            if part in report:
                whole = report[part]["all"]
                ratio = whole["pypdfium2"]["ms_per_page"] / whole["PyMuPDF"]["ms_per_page"]
                each = sorted(row["pypdfium2"]["ms_per_page"] / row["PyMuPDF"]["ms_per_page"]
                              for row in report[part]["files"].values())
                report[part]["ratio"] = {"set": ratio, "median_file": statistics.median(each)}
                print(f"{part}: pypdfium2 / PyMuPDF time {ratio:.2f} read as one set; file by file median "
                      f"{statistics.median(each):.2f} ({each[0]:.2f}-{each[-1]:.2f})")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
