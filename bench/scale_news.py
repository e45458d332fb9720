"""`make bench-scale`: the whole of SaudiNewsNet (../shared/eval/saudinews, 20,329 real
articles in 12 daily zips) through Akhbar, as a newsroom would run it.

Prints:
1. ingest: wall time, documents and chunks per second, peak RSS, disk used, dates and
   sites found (share of non-empty articles);
2. hybrid and dense retrieval p50/p95 on that index (the news set's questions), and how often
   the answer's article is among the top 5 for its Arabic and its English questions;
3. cold `akhbar ask`: process start to the first byte of the answer;
4. cold `akhbar chat`: process start to the URL, then the first and the second answer in a
   real browser (Debian's chromium through Playwright; skipped without it);
5. re-ingest of the unchanged corpus.

``--backends local,server,ollama`` runs the same steps once per set-up, each in its own
home, and ends with a table side by side:
- ``local``: the embedded Chroma ``PersistentClient`` and the packaged mE5 in process;
- ``server``: a real ``chroma run`` on 127.0.0.1 (``store.chroma_url``), its data in the home;
- ``ollama``: embeddings from Ollama's ``/api/embed`` in batches of ``embed.batch_size``,
  served by the wire-faithful stand-in (tests/support/ollama_standin.py) with the same mE5
  folder, on the same two cores (no Ollama binary can be installed here).

Too long for `make bench` (the ingest alone is tens of minutes on 2 cores). The index is
kept in ``--home`` (default ~/.cache/akhbar/bench-scale) so parts can be re-run with
``--skip ingest``; ``--fresh`` starts from an empty home. Figures only; nothing asserts.

    python bench/scale_news.py [--home DIR] [--fresh] [--days N] [--skip ingest,retrieval,ask,chat,reingest]
                               [--backends local,server,ollama]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CORPUS = REPO.parent / "shared" / "eval" / "saudinews"
QUESTIONS = [REPO / "bench" / "newsqa" / "ar.jsonl", REPO / "bench" / "newsqa" / "en.jsonl"]
CHROMIUM = "/usr/bin/chromium"
ASK = "ما عدد المزارعين المشاركين في مهرجان بريدة للتمور؟"
ASK_AGAIN = "من افتتح مهرجان بريدة للتمور؟"


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024 / 1024


def env_for(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_") or k == "AKHBAR_MODELS_DIR"}
    env.update({"AKHBAR_HOME": str(home), "PYTHONPATH": str(REPO), "AKHBAR_LLM_BACKEND": "llamacpp"})
    env.update(extra or {})
    return env


@contextlib.contextmanager
def backend(name: str, home: Path) -> Iterator[dict[str, str]]:
    """The environment that points Akhbar at set-up ``name`` (see the module docstring),
    with its servers running for as long as the block does."""
    from rag import Config
    from tests.support.servers import start_chroma, start_standin, stop

    if name == "local":
        yield {}
        return
    if name == "server":
        data = home / "chroma-server"
        data.mkdir(parents=True, exist_ok=True)
        proc, url = start_chroma(data)
        print(f"  chroma run on {url} (data {data})")
        try:
            yield {"AKHBAR_CHROMA_URL": url}
        finally:
            stop(proc)
        return
    if name == "ollama":
        cfg = Config.load(env=env_for(home))
        sproc, url = start_standin(cfg.llm_model_path, cfg.embed_model_path, embed_name="multilingual-e5-small")
        print(f"  Ollama stand-in on {url}, /api/embed serving {cfg.embed_model_path.name}")
        try:
            yield {"OLLAMA_HOST": url, "AKHBAR_EMBED_BACKEND": "ollama",
                   "AKHBAR_EMBED_OLLAMA_MODEL": "multilingual-e5-small"}
        finally:
            stop(sproc)
        return
    raise SystemExit(f"unknown backend {name!r}: local, server or ollama")


def timed_ingest(home: Path, zips: list[Path], extra: dict[str, str]) -> dict[str, float]:
    """`akhbar ingest --json` in its own process: wall time and the child's peak RSS."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", *map(str, zips), "--json"],
                         capture_output=True, text=True, env=env_for(home, extra), cwd=REPO)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"ingest failed: {out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall": wall, "documents": report["documents"], "chunks": report["new_chunks"],
            "skipped": report["skipped"], "duplicates": report["duplicates"] + report["near_duplicates"],
            "errors": len(report["errors"]), "dated": report.get("dated", 0),
            "rss_mb": max(rss, before) / 1024}


def cold_ask(home: Path, question: str, extra: dict[str, str]) -> dict[str, Any]:
    """Process start to the first byte the answer prints (``--stream``), and to exit."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ask", question, "--stream"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for(home, extra), cwd=REPO)
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    first_s = time.perf_counter() - t
    rest = first + proc.stdout.read()
    proc.wait()
    return {"first_byte_s": first_s, "exit_s": time.perf_counter() - t,
            "answer": rest.decode("utf-8", "replace").strip().splitlines()[0] if rest else ""}


def cold_chat(home: Path, extra: dict[str, str]) -> dict[str, float] | None:
    """`akhbar chat` from start to its URL, then two questions in a real browser: each
    from the click to the answer on screen."""
    if not Path(CHROMIUM).exists():
        print("  (skipping the chat figures: Debian's chromium is not installed; `make browser`)")
        return None
    from playwright.sync_api import sync_playwright

    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "chat", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env_for(home, extra), cwd=REPO)
    assert proc.stdout is not None
    url = ""
    while not url:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the chat app exited before printing its URL")
        if "running on " in line:
            url = line.split("running on ", 1)[1].split()[0]
    ready_s = time.perf_counter() - t
    times = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page()
            page.goto(url, wait_until="load")
            for n, q in enumerate((ASK, ASK_AGAIN), start=1):
                page.fill("#akhbar-question textarea", q)
                start = time.perf_counter()
                page.click("#akhbar-send")
                page.wait_for_function("n => document.querySelectorAll('.akhbar-msg.bot .meta, .akhbar-msg.error')"
                                       ".length >= n", arg=n, timeout=300_000)
                times.append(time.perf_counter() - start)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"ready_s": ready_s, "first_answer_s": times[0], "second_answer_s": times[1],
            "start_to_first_answer_s": ready_s + times[0]}


def retrieval(home: Path, n: int, extra: dict[str, str]) -> dict[str, dict[str, float]]:
    from rag import Akhbar, Config

    questions = [json.loads(line)["question"] for f in QUESTIONS for line in f.read_text(encoding="utf-8").splitlines()
                 if line.strip()][:n]
    bot = Akhbar(Config.load(env=env_for(home, extra)))
    bot.retrieve("warm-up", top_k=5)
    out = {}
    for mode in ("hybrid", "dense"):
        ms = []
        for q in questions:
            t = time.perf_counter()
            bot.retrieve(q, top_k=5, mode=mode)
            ms.append((time.perf_counter() - t) * 1000)
        out[mode] = {"p50": statistics.median(ms), "p95": pct(ms, 0.95), "n": len(ms)}
    # Does the answer's article come back? Per language: an English question over Arabic
    # news leans on the embedder alone (BM25 shares no words with it), and that is what a
    # growing archive wears down first.
    doc_of_url = {s.url: s.doc_id for s in bot.manifest.all_sources() if s.url}
    for lang in ("ar", "en"):
        found = []
        for f in QUESTIONS:
            for line in f.read_text(encoding="utf-8").splitlines():
                r = json.loads(line) if line.strip() else None
                if r and r["language"] == lang and r["answerable"] and r["url"] in doc_of_url:
                    docs = [h.chunk.doc_id for h in bot.retrieve(r["question"], top_k=10)]
                    found.append(docs.index(doc_of_url[r["url"]]) if doc_of_url[r["url"]] in docs else 99)
        if found:
            out[f"gold_{lang}"] = {"n": len(found), "at5": sum(k < 5 for k in found) / len(found),
                                   "at10": sum(k < 10 for k in found) / len(found)}
    st = bot.stats()
    out["index"] = {"documents": st.documents, "chunks": st.chunks, "dated": st.dated_documents}
    sites = {d.site for d in bot.documents()}
    out["sites"] = {"distinct": len(sites)}
    print(f"  sites: {', '.join(sorted(sites))}")
    return out


def run_steps(home: Path, zips: list[Path], skip: set[str], queries: int,
              extra: dict[str, str]) -> dict[str, float]:
    """Steps 1-5 on one home and set-up; prints each and returns the figures for the table."""
    row: dict[str, float] = {}
    if "ingest" not in skip:
        r = timed_ingest(home, zips, extra)
        print(f"\n1. Ingest: {r['documents']} documents ({r['duplicates']} merged as duplicates, {r['errors']} "
              f"errors; {r['dated']} dated, {r['dated'] / max(1, r['documents']):.1%}) in {r['wall']:.0f} s, "
              "start-up included")
        print(f"   {r['documents'] / r['wall']:.1f} documents/s, {r['chunks']} chunks at {r['chunks'] / r['wall']:.1f} "
              f"chunks/s, peak RSS {r['rss_mb']:.0f} MB, disk {du_mb(home):.0f} MB")
        row |= {"ingest_s": r["wall"], "chunks_per_s": r["chunks"] / r["wall"], "rss_mb": r["rss_mb"]}
    if "retrieval" not in skip:
        r2 = retrieval(home, queries, extra)
        idx = r2["index"]
        print(f"\n2. Retrieval on {idx['documents']} documents / {idx['chunks']} chunks "
              f"({idx['dated']} dated, {r2['sites']['distinct']} sites), top 5, {r2['hybrid']['n']} questions:")
        for mode in ("hybrid", "dense"):
            print(f"   {mode:7} p50 {r2[mode]['p50']:.0f} ms, p95 {r2[mode]['p95']:.0f} ms")
        for lang, name in (("ar", "Arabic"), ("en", "English")):
            if f"gold_{lang}" in r2:
                g = r2[f"gold_{lang}"]
                print(f"   the answer's article among the top 5 for {g['at5']:.2f} of {g['n']} answerable {name} "
                      f"questions (top 10: {g['at10']:.2f})")
        row |= {"hybrid_p50": r2["hybrid"]["p50"], "hybrid_p95": r2["hybrid"]["p95"]}
    if "ask" not in skip:
        # Four new processes: the first may write the caches a cold start reads (the reader
        # instruction's KV state, the copy vocabulary); the figure is the median of the rest.
        runs = [cold_ask(home, ASK, extra) for _ in range(4)]
        a = runs[0]
        later = statistics.median(r["first_byte_s"] for r in runs[1:])
        each = ", ".join(f"{r['first_byte_s']:.1f}" for r in runs[1:])
        print(f"\n3. Cold `akhbar ask`: first byte of the answer after {later:.1f} s (median of 3 new "
              f"processes: {each}; the first one "
              f"{a['first_byte_s']:.1f} s), exit after {statistics.median(r['exit_s'] for r in runs[1:]):.1f} s "
              f"({a['answer'][:60]})")
        row["ask_first_byte_s"] = later
    if "chat" not in skip:
        c = cold_chat(home, extra)
        if c:
            print(f"\n4. Cold `akhbar chat`: URL after {c['ready_s']:.1f} s (models loaded first); first answer "
                  f"{c['first_answer_s']:.1f} s after the click, second {c['second_answer_s']:.1f} s "
                  f"(ratio {c['first_answer_s'] / c['second_answer_s']:.2f}); start to first answer "
                  f"{c['start_to_first_answer_s']:.1f} s")
    if "reingest" not in skip:
        r = timed_ingest(home, zips, extra)
        print(f"\n5. Re-ingest of the unchanged corpus: {r['wall']:.1f} s ({r['skipped']} skipped, "
              f"{r['chunks']} new chunks)")
        row["reingest_s"] = r["wall"]
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default=str(Path.home() / ".cache" / "akhbar" / "bench-scale"))
    ap.add_argument("--fresh", action="store_true", help="start from an empty home")
    ap.add_argument("--days", type=int, default=0, help="only the first N daily zips (0: all 12)")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--skip", default="")
    ap.add_argument("--backends", default="local", help="comma-separated: local, server, ollama")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    zips = sorted(CORPUS.glob("*.zip"))
    if not zips:
        print(f"(no SaudiNewsNet zips under {CORPUS})")
        return 0
    zips = zips[: args.days] if args.days else zips
    home = Path(args.home)
    if args.fresh and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    print(f"SaudiNewsNet: {len(zips)} daily zips, home {home}, {os.cpu_count()} cores")

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    table = {}
    for name in backends:
        bhome = home if name == "local" else home.with_name(f"{home.name}-{name}")
        if args.fresh and bhome.exists() and bhome != home:
            shutil.rmtree(bhome)
        bhome.mkdir(parents=True, exist_ok=True)
        print(f"\n=== {name}: home {bhome}")
        with backend(name, bhome) as extra:
            table[name] = run_steps(bhome, zips, skip, args.queries, extra)
    if len(table) > 1:
        cols = [("ingest_s", "ingest s"), ("chunks_per_s", "chunks/s"), ("rss_mb", "RSS MB"),
                ("hybrid_p50", "hyb p50"), ("hybrid_p95", "hyb p95"), ("ask_first_byte_s", "ask 1st"),
                ("reingest_s", "reingest")]
        print(f"\nSide by side ({len(zips)} daily zips):")
        print(f"{'set-up':8}" + "".join(f"{label:>10}" for _, label in cols))
        for name, row in table.items():
            print(f"{name:8}" + "".join(f"{row.get(k, float('nan')):>10.1f}" for k, _ in cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
