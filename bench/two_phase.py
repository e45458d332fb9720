"""What a user waits for when one SaudiNewsNet day goes in (#33), on the CPU at hand.

    python bench/two_phase.py [--day 2015-08-03] [--answers 5] [--engines-sample 384]

1. ``akhbar ingest DAY.zip --no-wait`` in its own process: seconds until the day is
   answerable (process start, parsing, chunking, the chunk table, BM25 on first use).
2. Recall@5 of the news dev set's questions on that day (bench/newsqa, answerable, gold
   article URL) with BM25 alone — what the first phase gives before any vector — and later
   with hybrid retrieval once every vector is in.
3. ``akhbar vectors`` in its own process: the vector phase end to end (chunks/s), beside the
   embedder alone on the same texts in the same batches (no store, no table).
4. Answer time while the vector phase runs behind (a fresh home in the first phase's state,
   the phase started on its thread) against the same questions asked warm once it is done.
5. Embedding engines on a sample of the day's chunks: sentence-transformers in the precision
   ``auto`` picks, in float32, and the ONNX export in float32, each with 2 threads.

Every figure is printed with the CPU model and its instruction sets; compare figures only
within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.pdf_extractors import cpu  # noqa: E402
from rag.config import Config  # noqa: E402

NEWS = REPO.parent / "shared" / "eval" / "saudinews"
QA = [REPO / "bench" / "newsqa" / "ar.jsonl", REPO / "bench" / "newsqa" / "en.jsonl"]


def _cli(home: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "AKHBAR_HOME": str(home), "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"akhbar {' '.join(args)} failed: {out.stderr[-2000:]}")
    return time.perf_counter() - t, out


def _questions(day: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for f in QA for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("day") == day and r.get("answerable") and r.get("url")]


def _recall(bot: Any, questions: list[dict[str, Any]], mode: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for lang in ("ar", "en"):
        qs = [q for q in questions if q["language"] == lang]
        found = 0
        for q in qs:
            hits = bot.retrieve(q["question"], top_k=5, mode=mode)
            found += q["url"] in {h.chunk.url for h in hits}
        out[lang] = found / len(qs) if qs else float("nan")
        out[f"{lang}_n"] = len(qs)
    return out


def _engines(base: Config, texts: list[str]) -> list[tuple[str, float]]:
    from rag.embedder import OnnxEmbedder, SentenceTransformerEmbedder, resolve_precision
    from rag.models_onnx import onnx_status

    path = base.embed_model_path
    rows: list[tuple[str, float]] = []
    candidates: list[tuple[str, Any]] = [
        (f"torch {resolve_precision('auto')}", SentenceTransformerEmbedder(path, batch_size=base.embed.batch_size)),
        ("torch float32", SentenceTransformerEmbedder(path, batch_size=base.embed.batch_size, precision="float32")),
    ]
    if onnx_status(path)["ready"]:
        candidates.append(("onnx float32", OnnxEmbedder(path, batch_size=base.embed.batch_size)))
    for name, emb in candidates:
        emb.embed_passages(texts[:8])  # load and warm
        t = time.perf_counter()
        for i in range(0, len(texts), 32):
            emb.embed_passages(texts[i:i + 32])
        rows.append((name, len(texts) / (time.perf_counter() - t)))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--day", default="2015-08-03", help="a SaudiNewsNet day with news dev set questions")
    ap.add_argument("--answers", type=int, default=5, help="questions asked during the vector phase and after")
    ap.add_argument("--engines-sample", type=int, default=384, help="chunks embedded by each engine (0: skip)")
    args = ap.parse_args()
    archive = NEWS / f"{args.day}.zip"
    if not archive.exists():
        print(f"(skipping the two-phase figures: {archive} not found)")
        return 0
    from rag.akhbar import Akhbar
    from rag.embedder import SentenceTransformerEmbedder
    from rag.vector_phase import passage_text

    base = Config.load()
    questions = _questions(args.day)
    print(f"\nTwo-phase ingest of one SaudiNewsNet day ({args.day}) — {cpu()}")
    with tempfile.TemporaryDirectory(prefix="akhbar-two-phase-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        first_s, out = _cli(home, "ingest", str(archive), "--no-wait", "--quiet", "--json")
        report = json.loads(out.stdout)
        # Copies of the first phase's state: asking embeds the waiting chunks an answer needs
        # (and keeps them), and Chroma's embedded client, once opened in this process, would
        # not see vectors another process writes later: each measurement gets its own home.
        snapshot, lexical_home = Path(tmp) / "phase1", Path(tmp) / "lexical"
        shutil.copytree(home, snapshot)
        shutil.copytree(home, lexical_home)
        lexical = _recall(Akhbar(base.with_overrides(home=lexical_home)), questions, mode="bm25")
        vec_s, vout = _cli(home, "vectors", "--json")
        status = json.loads(vout.stdout)
        cfg = base.with_overrides(home=home)
        bot = Akhbar(cfg)
        hybrid = _recall(bot, questions, mode=None)
        chunks = bot.chunks.get(bot.chunks.all_texts()[0])
        texts = [passage_text(c) for c in chunks.values()]
        alone = SentenceTransformerEmbedder(cfg.embed_model_path, batch_size=cfg.embed.batch_size)
        t = time.perf_counter()  # from the model's load, as the phase's rate is
        for i in range(0, len(texts), 32):  # the vector phase's batch
            alone.embed_passages(texts[i:i + 32])
        alone_rate = len(texts) / (time.perf_counter() - t)
        e2e_rate = status["rate"]
        print(f"  documents {report['documents']}, chunks {report['new_chunks']}")
        print(f"  answerable after            {first_s:8.1f} s   (`akhbar ingest --no-wait`, wall; the text phase "
              f"itself {report['lexical_seconds']:.1f} s)")
        print(f"  vectors complete after      {first_s + vec_s:8.1f} s   (+ `akhbar vectors` {vec_s:.1f} s wall)")
        print(f"  vector phase end to end     {e2e_rate:8.1f} chunks/s")
        print(f"  embedder alone, same texts  {alone_rate:8.1f} chunks/s   (ratio {e2e_rate / alone_rate:.2f})")
        for lang in ("ar", "en"):
            print(f"  recall@5 {lang} ({lexical[f'{lang}_n']:.0f} q)       BM25 only (first phase) "
                  f"{lexical[lang]:.3f}   hybrid (all vectors) {hybrid[lang]:.3f}")

        if args.answers and questions:
            asked = [q["question"] for q in questions if q["language"] == "ar"][:args.answers]
            behind = base.with_overrides(home=snapshot)
            bot2 = Akhbar(behind)
            bot2.warm()
            bot2.ask(asked[0] + " ")  # the model's first answer is not a warm one
            assert bot2.start_vectors()
            during = []
            for q in asked:
                during.append(bot2.ask(q).total_s)
            pending_after = bot2.vector_status().pending
            bot2.vectors.wait()
            warm = [bot2.ask(q).total_s for q in asked]
            print(f"  answer during the phase     {statistics.median(during):8.1f} s p50 ({len(asked)} questions; "
                  f"{pending_after} chunks still waiting after them)")
            print(f"  the same, warm, all vectors {statistics.median(warm):8.1f} s p50   "
                  f"(ratio {statistics.median(during) / statistics.median(warm):.2f})")
        if args.engines_sample:
            sample = sorted(texts, key=len)[:: max(1, len(texts) // args.engines_sample)][:args.engines_sample]
            print(f"  embedding engines on {len(sample)} of the day's chunks (every length), batches of 32:")
            for name, rate in _engines(base, sample):
                print(f"    {name:16} {rate:8.1f} chunks/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
