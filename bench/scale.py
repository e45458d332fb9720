"""Benchmarks for issue 6/7: retrieval at 1k/10k/100k chunks (embedded and `chroma run`),
a plain llama-index baseline on XQuAD-ar, and concurrent questions through the API.

Scale: embedding 100k chunks on 2 cores takes about an hour, so the large collections are
filled from a pool of real passages (XQuAD ar+en paragraph sentences, embedded once by the
real mE5): chunk i carries pool passage i mod P as its text and that passage's vector plus
small Gaussian noise (sigma 0.01, renormalised), so the HNSW graph holds N distinct points
shaped like real data. Queries are real XQuAD questions embedded by mE5; hybrid retrieval
(dense + BM25 over those texts) runs as in production. Figures only; nothing asserts.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
XQUAD = REPO.parent / "shared" / "eval" / "xquad"


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] if s else float("nan")


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _questions(language: str = "ar") -> list[tuple[str, int]]:
    """(question, paragraph index) for XQuAD."""
    data = json.loads((XQUAD / f"xquad.{language}.json").read_text(encoding="utf-8"))["data"]
    out, i = [], 0
    for art in data:
        for para in art["paragraphs"]:
            out.extend((qa["question"], i) for qa in para["qas"])
            i += 1
    return out


def _pool(embedder: Any, limit: int = 3000) -> tuple[list[str], Any]:
    from rag.text import sentence_spans

    texts: list[str] = []
    for lang in ("ar", "en"):
        data = json.loads((XQUAD / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        for art in data:
            for para in art["paragraphs"]:
                ctx = para["context"]
                spans = list(sentence_spans(ctx))
                # Two-sentence passages: chunk-like length, many distinct texts.
                for k in range(0, len(spans), 2):
                    a, b = spans[k][0], spans[min(k + 1, len(spans) - 1)][1]
                    texts.append(ctx[a:b])
    rng = random.Random(0)
    rng.shuffle(texts)
    texts = texts[:limit]
    import numpy as np

    return texts, np.asarray(embedder.embed_passages(texts), dtype=np.float32)


def _fill(store: Any, texts: list[str], vecs: Any, n: int) -> float:
    import numpy as np

    from rag.types import Chunk

    rng = np.random.default_rng(0)
    t = time.perf_counter()
    batch = 4000
    for start in range(0, n, batch):
        idx = np.arange(start, min(n, start + batch))
        base = vecs[idx % len(texts)]
        noisy = base + rng.normal(0, 0.01, base.shape).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        chunks = [Chunk(chunk_id=f"s{i:07d}", doc_id=f"d{i // 3:07d}", text=texts[i % len(texts)], index=i % 3,
                        start=0, end=len(texts[i % len(texts)]), title=f"synthetic {i // 3}",
                        source_path=f"synthetic/{i // 3}.txt", content_hash="0" * 64) for i in map(int, idx)]
        store.add(chunks, noisy.tolist())
    return time.perf_counter() - t


def _start_chroma(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = open(data / "server.log", "wb")  # noqa: SIM115 - open for the server's life
    proc = subprocess.Popen([str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path",
                             str(data / "db")], stdout=log, stderr=subprocess.STDOUT)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("chroma run did not start")


def scale_figures(base: Any, embedder: Any, sizes: list[int], queries: int = 100, server: bool = True) -> None:
    from rag.chunks import ChunkTable
    from rag.lexical import BM25Index
    from rag.retrieval import Retriever
    from rag.store import ChromaStore

    if not XQUAD.exists():
        print("(skipping scale: ../shared/eval/xquad not found)")
        return
    texts, vecs = _pool(embedder)
    qs = [q for q, _ in _questions("ar")]
    qs = qs[:: max(1, len(qs) // queries)][:queries]
    qvecs = [embedder.embed_query(q) for q in qs]
    modes = ["embedded"] + (["server"] if server else [])
    rows = []
    with tempfile.TemporaryDirectory(prefix="akhbar-scale-") as tmp:
        proc, url = _start_chroma(Path(tmp)) if server else (None, "")
        try:
            for mode in modes:
                for n in sizes:
                    home = Path(tmp) / f"{mode}-{n}"
                    store = ChromaStore(home / "chroma", f"scale-{n}", embed_model=base.embed.model,
                                        url=url if mode == "server" else "", database=f"scale_{n}")
                    fill_s = _fill(store, texts, vecs, n)
                    bm25 = BM25Index(home / "bm25")
                    table = ChunkTable(home / "manifest.sqlite", f"scale-{n}")
                    table.fill_from(store)
                    retriever = Retriever(store, embedder, bm25, lambda: 1, mode="hybrid", chunks=table)
                    t = time.perf_counter()
                    retriever.search(qs[0], 10, query_vec=qvecs[0])  # builds the BM25 index
                    bm25_build_s = time.perf_counter() - t
                    lat: dict[str, list[float]] = {"dense": [], "hybrid": []}
                    for q, v in zip(qs, qvecs):
                        for m in lat:
                            t = time.perf_counter()
                            retriever.search(q, 10, query_vec=v, mode=m)
                            lat[m].append((time.perf_counter() - t) * 1000)
                    disk = _du_mb(home)
                    rows.append({"mode": mode, "chunks": store.count(), "fill_s": fill_s, "bm25_build_s": bm25_build_s,
                                 "dense_p50": _pct(lat["dense"], .5), "dense_p95": _pct(lat["dense"], .95),
                                 "hybrid_p50": _pct(lat["hybrid"], .5), "hybrid_p95": _pct(lat["hybrid"], .95),
                                 "disk_mb": disk,
                                 "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
            server_disk = _du_mb(Path(tmp) / "db") if server else 0.0
        finally:
            if proc:
                proc.terminate()
                proc.wait(timeout=20)
    print(f"\nRetrieval at scale ({queries} XQuAD-ar queries, top 10; vectors: {len(texts)} real mE5 passages "
          "+ noise, see bench/scale.py)")
    print(f"{'mode':10}{'chunks':>9}{'fill s':>9}{'bm25 s':>9}{'dense p50':>11}{'p95':>8}{'hybrid p50':>12}"
          f"{'p95':>8}{'disk MB':>9}{'peak RSS':>10}")
    for r in rows:
        disk = f"{r['disk_mb']:>9.0f}" if r["mode"] == "embedded" else f"{'(srv)':>9}"
        print(f"{r['mode']:10}{r['chunks']:>9}{r['fill_s']:>9.1f}{r['bm25_build_s']:>9.1f}{r['dense_p50']:>11.1f}"
              f"{r['dense_p95']:>8.1f}{r['hybrid_p50']:>12.1f}{r['hybrid_p95']:>8.1f}{disk}{r['rss_mb']:>10.0f}")
    if server:
        print(f"  server data dir after all sizes: {server_disk:.0f} MB; the BM25 index lives in the data home "
              "in both modes (latencies in ms)")


class _LlamaIndexEmbedding:
    """Builds a llama-index BaseEmbedding over the same mE5 model Akhbar uses."""

    @staticmethod
    def make(embedder: Any) -> Any:
        from llama_index.core.base.embeddings.base import BaseEmbedding

        class SameModel(BaseEmbedding):  # type: ignore[misc]
            def _get_query_embedding(self, query: str) -> list[float]:
                return list(embedder.embed_query(query))

            async def _aget_query_embedding(self, query: str) -> list[float]:
                return self._get_query_embedding(query)

            def _get_text_embedding(self, text: str) -> list[float]:
                return list(embedder.embed_passages([text])[0])

            def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
                return [list(v) for v in embedder.embed_passages(texts)]

        return SameModel(model_name="multilingual-e5-small (Akhbar's packaged model)", embed_batch_size=32)


def baseline_figures(base: Any, embedder: Any) -> None:
    """Plain llama-index (VectorStoreIndex, default SentenceSplitter and retriever) vs Akhbar,
    same embedding model, same XQuAD-ar paragraphs and questions."""
    if not XQUAD.exists():
        print("(skipping baseline: ../shared/eval/xquad not found)")
        return
    from llama_index.core import Document, Settings, VectorStoreIndex

    from ingest.article import parse_extracted
    from rag import Akhbar

    data = json.loads((XQUAD / "xquad.ar.json").read_text(encoding="utf-8"))["data"]
    paras = [(a["title"], p["context"]) for a in data for p in a["paragraphs"]]
    questions = _questions("ar")
    Settings.embed_model = _LlamaIndexEmbedding.make(embedder)
    Settings.llm = None
    docs = [Document(text=ctx, metadata={"para": i}, doc_id=f"p{i}") for i, (_t, ctx) in enumerate(paras)]
    t = time.perf_counter()
    index = VectorStoreIndex.from_documents(docs)
    li_build = time.perf_counter() - t
    retriever = index.as_retriever(similarity_top_k=5)
    hits, lat = 0, []
    for q, gold in questions:
        t = time.perf_counter()
        nodes = retriever.retrieve(q)
        lat.append((time.perf_counter() - t) * 1000)
        hits += any(n.node.metadata.get("para") == gold for n in nodes[:5])
    li = {"recall5": hits / len(questions), "p50": _pct(lat, .5), "p95": _pct(lat, .95), "build": li_build}

    with tempfile.TemporaryDirectory(prefix="akhbar-baseline-") as tmp:
        bot = Akhbar(base.with_overrides(home=Path(tmp), store={"collection": "baseline"}), embedder=embedder)
        sources = [f"p{i}" for i in range(len(paras))]
        t = time.perf_counter()
        bot.ingestor().ingest_articles([parse_extracted(ctx, sources[i], title=title)
                                        for i, (title, ctx) in enumerate(paras)])
        ak_build = time.perf_counter() - t
        gold_doc = {i: bot.manifest.source(s).doc_id for i, s in enumerate(sources)}
        bot.retrieve(questions[0][0], top_k=10)  # BM25 index build is not query latency
        ak: dict[str, dict[str, float]] = {}
        for mode in ("dense", "hybrid"):
            hits, lat = 0, []
            for q, gold in questions:
                t = time.perf_counter()
                found = bot.retrieve(q, top_k=10, mode=mode)
                lat.append((time.perf_counter() - t) * 1000)
                docs5 = list(dict.fromkeys(h.chunk.doc_id for h in found))[:5]
                hits += gold_doc[gold] in docs5
            ak[mode] = {"recall5": hits / len(questions), "p50": _pct(lat, .5), "p95": _pct(lat, .95),
                        "build": ak_build}
    print(f"\nBaseline: plain llama-index vs Akhbar on XQuAD-ar ({len(paras)} paragraphs, {len(questions)} questions, "
          "same mE5 model)")
    print(f"{'':34}{'recall@5':>10}{'query p50 ms':>14}{'p95 ms':>9}{'index s':>9}")
    print(f"{'llama-index VectorStoreIndex':34}{li['recall5']:>10.3f}{li['p50']:>14.1f}{li['p95']:>9.1f}"
          f"{li['build']:>9.1f}")
    for mode, label in (("dense", "Akhbar dense (Chroma)"), ("hybrid", "Akhbar hybrid (BM25 + mE5, RRF)")):
        r = ak[mode]
        print(f"{label:34}{r['recall5']:>10.3f}{r['p50']:>14.1f}{r['p95']:>9.1f}{r['build']:>9.1f}")
    print("  (query time includes embedding the question, ~12 ms; llama-index searches an in-memory list, Akhbar "
          "a persistent Chroma collection; Akhbar's index time includes chunking and dedupe)")


def load_figures(bot: Any, questions: list[str], workers: int = 20) -> None:
    """``workers`` questions at once through one Akhbar (the LLM answers one at a time;
    the rest wait): wall time, throughput, per-question latency, errors, cross-talk."""
    results: list[tuple[str, Any]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(q: str) -> None:
        t = time.perf_counter()
        try:
            a = bot.ask(q)
            with lock:
                results.append((q, (a, time.perf_counter() - t)))
        except Exception as e:
            with lock:
                errors.append(f"{type(e).__name__}: {e}")

    qs = (questions * ((workers // max(1, len(questions))) + 1))[:workers]
    threads = [threading.Thread(target=one, args=(q,)) for q in qs]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    lat = [r[1][1] for r in results]
    crossed = sum(1 for q, (a, _) in results if a.question != q)
    print(f"\nLoad: {workers} concurrent questions through one Akhbar (embedded 1.5B, {os.cpu_count()} cores)")
    print(f"  wall {wall:.1f} s, throughput {len(results) / wall * 60:.1f} answers/min, latency p50 "
          f"{statistics.median(lat) if lat else float('nan'):.1f} s p95 {_pct(lat, .95):.1f} s, "
          f"{len(errors)} errors, {crossed} answers to the wrong question")
    for e in errors[:3]:
        print(f"  error: {e}")


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
