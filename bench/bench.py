"""`make bench`: print Akhbar's figures on this machine.

For the seed corpus and for every XQuAD-ar paragraph (../shared/eval/xquad/xquad.ar.json):
ingest chunks/s, query retrieval ms (p50/p95), time to first token, full answer seconds,
prompt tokens, and peak RSS. Uses the embedded defaults (mE5 + Qwen2.5-Coder-1.5B on
llama.cpp) in a throw-away data directory. Figures only; nothing here asserts a target.

    python bench/bench.py [--questions N] [--retrieval-queries N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.article import parse_article  # noqa: E402
from ingest.pipeline import Ingestor  # noqa: E402
from rag import Akhbar, Answer, Config  # noqa: E402
from rag.llm import LlamaCppLLM  # noqa: E402

XQUAD_AR = REPO.parent / "shared" / "eval" / "xquad" / "xquad.ar.json"
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=3, help="XQuAD questions to answer with the LLM")
    ap.add_argument("--retrieval-queries", type=int, default=100)
    args = ap.parse_args()

    base = Config.load()
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
            xrep = Ingestor(xbot.store, xbot.embedder, xcfg.embed.chunk_tokens).ingest_articles(articles)
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
