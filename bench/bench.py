"""`make bench`: print Akhbar's figures on this machine.

1. Answering, for the seed corpus and for every XQuAD-ar paragraph: ingest chunks/s, query
   retrieval ms (p50/p95), time to first token, full answer seconds, prompt tokens, peak RSS.
2. Embeddings, float32 sentence-transformers vs the configured fast path (bfloat16 where the
   CPU has it) side by side: passages/s, speed-up, XQuAD-ar dense recall@1/@5/@10.
3. Archive ingest: a synthetic archive of N articles (seed/XQuAD text) through
   `akhbar ingest` in its own process: wall time, documents/s, chunks/s, peak RSS.
4. Scale (bench/scale.py): hybrid and dense retrieval latency p50/p95 at 1k/10k/100k
   chunks, embedded and against a real `chroma run`, index size on disk, peak RSS.
   PDF vs HTML (bench/documents.py): 100 ten-page PDFs printed by Chromium and the same
   text as HTML, each through `akhbar ingest`: seconds, chunks/s, the ratio (target <= 2).
5. Baseline: plain llama-index (VectorStoreIndex, default splitter and retriever, same
   mE5) vs Akhbar on XQuAD-ar: recall@5 and query latency.
6. Load: 20 concurrent questions through one Akhbar: throughput, p50/p95, errors.
7. News and the reader: the report split of bench/newsqa (Arabic and English questions
   over two days of SaudiNewsNet) with `akhbar eval`: gold contained, reading accuracy given
   evidence, refusals, citations, time to first token and total seconds per question, per
   language; and XQuAD-ar (100 questions, seed 0). Both with the reader adapter off and on
   (llm.adapter). The news corpus is ingested once into ~/.cache/akhbar/bench-newsqa.
0. First, what a user waits for (bench/two_phase.py): one SaudiNewsNet day answerable, its
   vectors complete, recall@5 before and after the vectors, the answer while they are computed.

Uses the embedded defaults in throw-away data directories. Figures only; nothing here
asserts a target.

    python bench/bench.py [--questions N] [--archive-articles N] [--scale-sizes 1000,10000,100000]
                          [--skip answer,embed,archive,documents,scale,baseline,load,news] [--pdf-docs N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.article import parse_article  # noqa: E402
from rag import Akhbar, Answer, Config  # noqa: E402
from rag.llm import LlamaCppLLM  # noqa: E402

XQUAD_AR = REPO.parent / "shared" / "eval" / "xquad" / "xquad.ar.json"
NEWS_QA = [REPO / "bench" / "newsqa" / "ar.jsonl", REPO / "bench" / "newsqa" / "en.jsonl"]
NEWS_CORPUS = [REPO.parent / "shared" / "eval" / "saudinews" / f"{day}.zip" for day in ("2015-08-03", "2015-08-04")]
SEED_QUESTIONS = [
    "منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟",
    "How many Astana-format meetings have been held?",
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def answer_figures(bot: Akhbar, questions: list[str]) -> dict[str, float]:
    ttft, total, prompt = [], [], []
    for q in questions:
        ans: Answer = bot.ask(q)
        ttft.append(ans.first_token_s)
        total.append(ans.total_s)
        prompt.append(ans.prompt_tokens)
    return {
        "questions": len(questions),
        "ttft_s_median": statistics.median(ttft),
        "answer_s_median": statistics.median(total),
        "prompt_tokens_median": statistics.median(prompt),
        "prompt_tokens_max": max(prompt),
    }


def retrieval_figures(bot: Akhbar, questions: list[str]) -> dict[str, float]:
    times = []
    for q in questions:
        t = time.perf_counter()
        bot.retrieve(q)
        times.append((time.perf_counter() - t) * 1000)
    return {"retrieval_ms_p50": pct(times, 0.5), "retrieval_ms_p95": pct(times, 0.95)}


def embedding_figures(base: Config) -> None:
    """float32 vs the fast path on XQuAD-ar: speed and dense retrieval recall."""
    import numpy as np

    from rag.embedder import OnnxEmbedder, SentenceTransformerEmbedder, resolve_precision

    if not XQUAD_AR.exists():
        print(f"(skipping embeddings: {XQUAD_AR} not found)")
        return
    data = json.loads(XQUAD_AR.read_text(encoding="utf-8"))["data"]
    paras, questions, gold = [], [], []
    for art in data:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                questions.append(qa["question"])
                gold.append(len(paras))
            paras.append(f"{art['title']}\n{para['context']}")
    fast = resolve_precision(base.embed.precision)
    rows = {}

    def rate(emb: SentenceTransformerEmbedder) -> float:
        """Passages/s, best of two passes: the first pass at a new input shape pays one-off
        allocation and kernel selection, which would penalise whichever runs first."""
        times = []
        for _ in range(2):
            t = time.perf_counter()
            emb.embed_passages(paras)
            times.append(time.perf_counter() - t)
        return len(paras) / min(times)

    def recall(Q: Any, P: Any, gold: list[int]) -> dict[str, float]:
        ranks = np.argsort(-(Q @ P.T), axis=1)
        pos = np.array([int(np.where(ranks[i] == g)[0][0]) for i, g in enumerate(gold)])
        return {f"recall@{k}": float((pos < k).mean()) for k in (1, 5, 10)}

    onnx_q: Any = None
    engine_rows: dict[str, dict[str, float]] = {}
    for precision in dict.fromkeys(["float32", fast]):
        emb = SentenceTransformerEmbedder(base.embed_model_path, batch_size=base.embed.batch_size,
                                          precision=precision)
        emb.embed_passages(["warm-up"])
        speed = rate(emb)
        P = np.array(emb.embed_passages(paras))
        Q = np.array([emb.embed_query(q) for q in questions])
        rows[precision] = {"passages_per_s": speed, **recall(Q, P, gold)}
        # What `ask` embeds questions with (embed.query_engine = auto): the ONNX export,
        # float32, against passages stored at this precision.
        if onnx_q is None:
            engine = OnnxEmbedder(base.embed_model_path)
            onnx_q = np.array([engine.embed_query(q) for q in questions])
        engine_rows[precision] = recall(onnx_q, P, gold)
    # The baseline at sentence-transformers' own default batch size (32), as a user would run it.
    plain = SentenceTransformerEmbedder(base.embed_model_path, batch_size=32, precision="float32")
    plain.embed_passages(["warm-up"])
    baseline = rate(plain)
    print(f"\nEmbeddings on XQuAD-ar ({len(paras)} paragraphs, {len(questions)} questions), "
          f"{os.cpu_count()} cores; baseline = float32 sentence-transformers, batch 32: {baseline:.1f} passages/s")
    print(f"{'precision':12}{'passages/s':>12}{'speed-up':>10}{'recall@1':>10}{'recall@5':>10}{'recall@10':>11}")
    for name, r in rows.items():
        print(f"{name:12}{r['passages_per_s']:>12.1f}{r['passages_per_s'] / baseline:>9.2f}x"
              f"{r['recall@1']:>10.3f}{r['recall@5']:>10.3f}{r['recall@10']:>11.3f}")
    print("Questions embedded by the ONNX export (what `ask` uses), against passages of each precision:")
    for name, r in engine_rows.items():
        print(f"{name + ' + onnx':22}{'':>10}{r['recall@1']:>10.3f}{r['recall@5']:>10.3f}{r['recall@10']:>11.3f}")


def archive_figures(n: int) -> None:
    """Ingest a synthetic archive through the CLI in its own process; report its peak RSS."""
    import subprocess

    from bench.synth import write_archive

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "archive"
        write_archive(corpus, n)
        code = ("import json, resource, sys, time\n"
                "from rag import Akhbar\n"
                "bot = Akhbar.open()\n"
                "bot.embedder.embed_query('warm-up')\n"
                "t = time.perf_counter(); r = bot.ingest(sys.argv[1]); dt = time.perf_counter() - t\n"
                "print(json.dumps({'documents': r.documents, 'chunks': r.new_chunks, 'seconds': dt,\n"
                "  'errors': len(r.errors), 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n")
        env = {**os.environ, "AKHBAR_HOME": str(Path(tmp) / "home"), "PYTHONPATH": str(REPO)}
        out = subprocess.run([sys.executable, "-c", code, str(corpus)], capture_output=True, text=True, env=env,
                             cwd=REPO, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\nArchive ingest: {r['documents']} synthetic articles in one `ingest` call")
    print(f"  {r['seconds']:.1f} s, {r['documents'] / r['seconds']:.1f} documents/s, "
          f"{r['chunks']} chunks at {r['chunks'] / r['seconds']:.1f} chunks/s, {r['errors']} errors, "
          f"peak RSS {r['rss_mb']:.0f} MB")


def reliability(png: Path, reader: str, rows: list[dict[str, Any]]) -> None:
    """The decide stage's reliability diagram for the last reader's news report rows."""
    try:
        from bench.trust import reliability_png

        reliability_png(rows, png, f"news report split, reader {reader}")
    except ImportError:
        print("(matplotlib is not installed: no reliability diagram)")
        return
    print(f"(reliability diagram of the confidences: {png})")


def news_figures(base: Config, xquad_limit: int = 100) -> None:
    """The reader with and without its adapter (llm.adapter off / auto), on the news report
    split and on XQuAD-ar (a seeded sample): the taught reader must earn its place."""
    from rag import eval as ev
    from rag.models import active_adapter

    if not all(p.exists() for p in NEWS_CORPUS):
        print("(skipping the news set: ../shared/eval/saudinews not found)")
        return
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "akhbar" / "bench-newsqa"
    readers = [("untaught", "off")]
    if active_adapter(base.with_overrides(llm={"adapter": "auto"})):
        readers.append(("adapter", "auto"))
    else:
        print("(no packaged reader adapter for this GGUF: the taught reader is not measured; make train-reader)")
    table = []
    for name, setting in readers:
        cfg = base.with_overrides(llm={"backend": "llamacpp", "adapter": setting})
        news = ev.run_qa(cfg, NEWS_QA, [str(p) for p in NEWS_CORPUS], split="report", home=cache,
                         progress=lambda m: print(f"  {m}", flush=True))
        print(f"\nNews set (bench/newsqa, report split), embedded 1.5B, reader {name}:")
        print(ev.format_qa_table(news))
        row = {"reader": name, **{f"news_{k}": v for k, v in news["overall"].items() if isinstance(v, float)}}
        if XQUAD_AR.exists() and xquad_limit:
            x = ev.run(cfg, XQUAD_AR, limit=xquad_limit, seed=0, progress=lambda m: print(f"  {m}", flush=True))
            print(f"\nXQuAD-ar ({xquad_limit} questions, seed 0), reader {name}:")
            print(ev.format_table(x))
            row |= {f"xquad_{k}": v for k, v in x["answers"].items() if isinstance(v, float)}
        table.append(row)
        last = (name, news["rows"])
    reliability(cache.parent / "bench-reliability.png", *last)
    cols = [("news_gold_contained", "news gold"), ("news_reading_given_evidence", "read|evid"),
            ("news_answered_wrong", "wrong"), ("news_refused_answerable", "ref.ok"),
            ("news_refused_unanswerable", "ref.no"), ("news_cited_gold", "cite"),
            ("news_first_token_s_p50", "ttft s"), ("xquad_gold_contained", "xq gold"), ("xquad_f1", "xq F1"),
            ("xquad_citation_precision", "xq cite"), ("xquad_refusal_rate_unanswerable", "xq ref.no"),
            ("xquad_first_token_s_p50", "xq ttft")]
    print("\nReader with and without the adapter:")
    print(f"{'reader':10}" + "".join(f"{label:>11}" for _, label in cols))
    for row in table:
        print(f"{row['reader']:10}" + "".join(f"{row.get(k, float('nan')):>11.3f}" for k, _ in cols))
    if len(table) == 2 and table[0].get("news_first_token_s_p50"):
        ratio = table[1]["news_first_token_s_p50"] / table[0]["news_first_token_s_p50"]
        print(f"first token with the adapter: {ratio:.2f} x without (news, p50)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=3, help="XQuAD questions to answer with the LLM")
    ap.add_argument("--retrieval-queries", type=int, default=100)
    ap.add_argument("--archive-articles", type=int, default=10_000)
    ap.add_argument("--skip", default="",
                    help="comma-separated: answer, embed, archive, documents, scale, baseline, load, news, "
                         "two-phase")
    ap.add_argument("--pdf-docs", type=int, default=100, help="ten-page PDFs (and the same as HTML) to ingest")
    ap.add_argument("--scale-sizes", default="1000,10000,100000")
    ap.add_argument("--load-questions", type=int, default=20)
    ap.add_argument("--xquad-reader", type=int, default=100,
                    help="XQuAD-ar questions for the reader with / without the adapter (0 = skip)")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    base = Config.load()
    if "two-phase" not in skip:
        # What a user waits for: one SaudiNewsNet day answerable, then its vectors complete.
        subprocess.run([sys.executable, str(REPO / "bench" / "two_phase.py")], check=False)
    if "news" not in skip:
        news_figures(base, args.xquad_reader)
    if "embed" not in skip:
        embedding_figures(base)
    if "archive" not in skip:
        archive_figures(args.archive_articles)
    if "documents" not in skip:
        from bench.documents import figures

        figures(args.pdf_docs, 10)
    if not {"scale", "baseline"} <= skip:
        from bench.scale import baseline_figures, scale_figures
        from rag.embedder import SentenceTransformerEmbedder

        emb = SentenceTransformerEmbedder(base.embed_model_path, name=base.embed.model,
                                          precision=base.embed.precision)
        if "scale" not in skip:
            scale_figures(base, emb, [int(n) for n in args.scale_sizes.split(",") if n])
        if "baseline" not in skip:
            baseline_figures(base, emb)
    if "answer" in skip and "load" in skip:
        return 0
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = base.with_overrides(home=Path(tmp) / "seed", llm={"backend": "llamacpp"})
        llm = LlamaCppLLM(cfg.llm_model_path, cfg)
        bot = Akhbar(cfg, llm=llm)
        bot.embedder.embed_query("warm-up")  # model load is not ingest time
        t = time.perf_counter()
        rep = bot.ingest(REPO / "seeds")
        dt = time.perf_counter() - t
        seed = {"documents": rep.documents, "chunks": rep.new_chunks, "ingest_s": dt,
                "chunks_per_s": rep.new_chunks / dt}
        if "load" not in skip:
            from bench.scale import load_figures

            load_figures(bot, SEED_QUESTIONS, workers=args.load_questions)
        if "answer" in skip:
            return 0
        seed |= retrieval_figures(bot, SEED_QUESTIONS * 10)
        seed |= answer_figures(bot, SEED_QUESTIONS)
        seed["peak_rss_mb"] = peak_rss_mb()
        rows["seed"] = seed

        if XQUAD_AR.exists():
            data = json.loads(XQUAD_AR.read_text(encoding="utf-8"))["data"]
            articles, questions = [], []
            for art in data:
                for i, para in enumerate(art["paragraphs"]):
                    text = f"{art['title']}\n{para['context']}"
                    articles.append(parse_article(text, f"xquad-ar/{art['title']}/{i}"))
                    questions.extend(qa["question"] for qa in para["qas"])
            xcfg = cfg.with_overrides(home=Path(tmp) / "xquad")
            xbot = Akhbar(xcfg, embedder=bot.embedder, llm=llm)
            t = time.perf_counter()
            xrep = xbot.ingestor().ingest_articles(articles)
            dt = time.perf_counter() - t
            x = {"documents": xrep.documents, "chunks": xrep.new_chunks, "ingest_s": dt,
                 "chunks_per_s": xrep.new_chunks / dt}
            step = max(1, len(questions) // args.retrieval_queries)
            x |= retrieval_figures(xbot, questions[::step][: args.retrieval_queries])
            qstep = max(1, len(questions) // max(1, args.questions))
            x |= answer_figures(xbot, questions[::qstep][: args.questions])
            x["peak_rss_mb"] = peak_rss_mb()
            rows["xquad-ar"] = x
        else:
            print(f"(skipping XQuAD-ar: {XQUAD_AR} not found)")

    keys = ["documents", "chunks", "ingest_s", "chunks_per_s", "retrieval_ms_p50", "retrieval_ms_p95",
            "questions", "ttft_s_median", "answer_s_median", "prompt_tokens_median", "prompt_tokens_max",
            "peak_rss_mb"]
    names = list(rows)
    print(f"\nAkhbar bench — {llm.model} on llama.cpp, {os.cpu_count()} cores, embeddings {base.embed.model}")
    print(f"{'figure':24}" + "".join(f"{n:>14}" for n in names))
    for k in keys:
        cells = []
        for n in names:
            v = rows[n].get(k, float("nan"))
            cells.append(f"{v:>14.1f}" if isinstance(v, float) else f"{v:>14}")
        print(f"{k:24}" + "".join(cells))
    print("\n(peak RSS is cumulative over the run: the xquad column includes the seed run's models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
