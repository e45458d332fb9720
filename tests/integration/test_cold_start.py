"""A cold `akhbar ask` (issue 14): the question side embeds without torch, and a new process
starts from the reader instruction's saved KV state. Both must give what the slow path gives."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag import Akhbar, Config
from rag.embedder import OnnxEmbedder, SentenceTransformerEmbedder
from rag.llm import GenerationStats, LlamaCppLLM
from rag.models_onnx import GRAPH_FILE, export_onnx, onnx_dir, onnx_status
from rag.prompts import Prompts
from tests.conftest import REPO
from tests.support.onnx_configs import unexported as _unexported
from tests.support.onnx_configs import with_engine as _engine

TEXTS = [
    "كم عدد المزارعين المشاركين في مهرجان بريدة للتمور؟",
    "وبلغ عدد الطلاب المقبولين 450 طالبا من أصل 900 متقدم في جامعة الملك سعود.",
    "How many Astana-format meetings have been held?",
    "The ceasefire talks resumed in Geneva on Monday, the UN envoy said.",
    "قصير",
]
LONG_AR = " ".join(["ارتفعت أسعار النفط في الأسواق العالمية اليوم بعد قرار أوبك."] * 80)  # > 512 tokens
LONG_EN = " ".join(["Oil prices rose in world markets today after the OPEC decision."] * 60)


def _cosines(a: list[list[float]], b: list[list[float]]) -> list[float]:
    x, y = np.asarray(a), np.asarray(b)
    return list((x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)))


@pytest.mark.models
def test_the_onnx_export_computes_the_sentence_transformers_vectors(prepared_config: Config) -> None:
    path = prepared_config.embed_model_path
    onnx = OnnxEmbedder(path, name=prepared_config.embed.model)
    # float32 on every CPU: the suite's embedder runs bfloat16 where the CPU has it.
    st = SentenceTransformerEmbedder(path, precision="float32")
    texts = [*TEXTS, LONG_AR, LONG_EN]
    assert min(_cosines(onnx.embed_passages(texts), st.embed_passages(texts))) >= 0.9999
    queries = [onnx.embed_query(t) for t in texts]
    assert min(_cosines(queries, [st.embed_query(t) for t in texts])) >= 0.9999
    # The query prompt is applied: a query's vector is not its passage vector.
    assert max(_cosines(queries[:len(TEXTS)], onnx.embed_passages(TEXTS))) < 0.9999
    # Token counts (what the chunker cuts by) agree, past the model's 512 too, and both
    # engines embed only the first 512: what follows changes nothing.
    for t in texts:
        assert onnx.count_tokens(t) == st.count_tokens(t)
    assert onnx.count_tokens(LONG_AR) > 512 and onnx.count_tokens(LONG_EN) > 512
    cut = onnx.embed_passages([LONG_AR, LONG_AR + " وانخفض الدولار."])
    assert _cosines(cut[:1], cut[1:])[0] > 0.999999
    assert onnx.dim == st.dim == 384
    assert onnx.embed_passages([]) == []


@pytest.mark.models
def test_the_export_is_made_once(prepared_config: Config) -> None:
    path = prepared_config.embed_model_path
    graph = onnx_dir(path) / GRAPH_FILE
    before = graph.stat().st_mtime_ns
    t = time.perf_counter()
    assert export_onnx(path) == graph  # prepare made it; up to date, so left alone
    assert time.perf_counter() - t < 1.0 and graph.stat().st_mtime_ns == before
    assert onnx_status(path) == {"path": str(graph), "ready": True, "problem": ""}


@pytest.mark.store
def test_retrieval_with_the_onnx_export_finds_what_sentence_transformers_finds(
        prepared_config: Config, seeded_home: Path, embedder: SentenceTransformerEmbedder) -> None:
    cfg = prepared_config.with_overrides(home=seeded_home)
    fast = Akhbar(cfg)  # nothing given: the query side is the ONNX export of the same folder
    slow = Akhbar(cfg, embedder=embedder)
    assert isinstance(fast.query_embedder, OnnxEmbedder) and slow.query_embedder is embedder
    for q in ("How many Astana-format meetings have been held?", "ما هي نتائج اجتماع أستانا؟"):
        a = fast.retrieve(q, top_k=4, mode="dense")
        b = slow.retrieve(q, top_k=4, mode="dense")
        assert [h.chunk.chunk_id for h in a] == [h.chunk.chunk_id for h in b]
        tolerance = 1e-4 if embedder.precision == "float32" else 0.02
        assert all(abs(x.score - y.score) < tolerance for x, y in zip(a, b))


@pytest.mark.store
@pytest.mark.slow
def test_a_cold_ask_never_imports_torch(prepared_config: Config, seeded_home: Path, tmp_path: Path) -> None:
    """The point of the export: a process that only asks answers from the stored vectors
    without importing torch or sentence-transformers (~10 s of a cold start)."""
    script = (
        "import json, sys\n"
        "from rag import Akhbar, Config\n"
        "cfg = Config.load().with_overrides(home=sys.argv[1], models_dir=sys.argv[2],\n"
        "    llm={'backend': 'llamacpp', 'model': 'qwen2.5-0.5b', 'max_tokens': 40})\n"
        "bot = Akhbar.open(cfg)\n"
        "a = bot.ask('How many Astana-format meetings have been held?')\n"
        "print(json.dumps({'torch': 'torch' in sys.modules,\n"
        "    'st': 'sentence_transformers' in sys.modules, 'llama_index': 'llama_index.core' in sys.modules,\n"
        "    'engine': type(bot.query_embedder).__name__,\n"
        "    'source': a.sources[0].source_path if a.sources else ''}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    env["PYTHONPATH"] = str(REPO)
    r = subprocess.run([sys.executable, "-c", script, str(seeded_home), str(prepared_config.models_dir)],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["engine"] == "OnnxEmbedder" and out["source"].endswith("000_dcd787653053976f.txt"), out
    assert not out["torch"] and not out["st"] and not out["llama_index"], out


@pytest.mark.models
def test_the_engine_follows_the_setting_and_the_export(prepared_config: Config, tmp_path: Path) -> None:
    assert isinstance(Akhbar(prepared_config).query_embedder, OnnxEmbedder)
    assert isinstance(Akhbar(_engine(prepared_config, "onnx")).query_embedder, OnnxEmbedder)
    st = Akhbar(prepared_config.with_overrides(embed={"query_engine": "sentence-transformers"}))
    assert isinstance(st.query_embedder, SentenceTransformerEmbedder)
    # No export (say prepare was not run since the folder changed): auto asks through torch.
    assert isinstance(Akhbar(_unexported(tmp_path)).query_embedder, SentenceTransformerEmbedder)


def _read(llm: LlamaCppLLM, prompts: Prompts) -> tuple[str, tuple[float, ...], list[int]]:
    """The span the reader copies, its log-probabilities, and how many tokens each
    evaluation of this fresh model read."""
    evidence = "وبلغ عدد الطلاب المقبولين 450 طالبا من أصل 900 متقدم."
    model = llm._load()
    evaluated: list[int] = []
    real_eval = model.eval

    def counting_eval(tokens):  # type: ignore[no-untyped-def]
        evaluated.append(len(tokens))
        return real_eval(tokens)

    model.eval = counting_eval
    out = llm.copy_span(prompts.reader_messages("ar", evidence, "كم عدد الطلاب المقبولين؟"), evidence,
                        GenerationStats())
    return out.text, out.logprobs, evaluated


@pytest.mark.models
def test_a_new_process_reads_from_the_saved_instruction_state_as_it_would_from_scratch(
        prepared_config: Config, tmp_path: Path) -> None:
    prompts = Prompts(prepared_config.prompts_dir)
    cfg = prepared_config.with_overrides(home=tmp_path / "home")
    off = _read(LlamaCppLLM(cfg.llm_model_path, cfg.with_overrides(llm={"prefix_cache": False})), prompts)
    states = tmp_path / "home" / "cache" / "llm-state"
    assert not states.exists()
    writer = LlamaCppLLM(cfg.llm_model_path, cfg)
    first = _read(writer, prompts)  # reads the instruction, saves it (and the copy vocabulary)
    saved = list(states.glob("prefix-*.llama-state"))
    assert len(saved) == 1
    vocab = list(states.glob("vocab-*.marshal"))
    assert len(vocab) == 1 and LlamaCppLLM(cfg.llm_model_path, cfg)._vocab() == writer._vocab()
    vocab[0].write_bytes(b"\x00broken")
    assert LlamaCppLLM(cfg.llm_model_path, cfg)._vocab() == writer._vocab()  # rebuilt, not trusted
    second = _read(LlamaCppLLM(cfg.llm_model_path, cfg), prompts)  # a fresh model starts from it
    assert "450" in off[0]
    assert first[0] == second[0] == off[0]
    assert all(abs(a - b) < 1e-3 for a, b in zip(off[1], second[1])) and len(off[1]) == len(second[1])
    # The fresh model did not read the instruction: its prompt evaluation was shorter by it.
    instruction = first[2][0]
    assert second[2][0] == first[2][1] and off[2][0] == first[2][0] + first[2][1] and instruction > 40
    # `akhbar chat` primes the same instruction before it prints its URL: from the file too.
    chat = LlamaCppLLM(cfg.llm_model_path, cfg)
    primed: list[int] = []
    model = chat._load()
    real_eval = model.eval
    model.eval = lambda tokens: (primed.append(len(tokens)), real_eval(tokens))[1]
    chat.prime(prompts.reader_messages("ar", "-", "-")[:1])
    assert primed == [] and model.n_tokens == instruction
    # A broken state file is read past (the prompt is read whole) and written anew.
    saved[0].write_bytes(b"not a llama.cpp state")
    third = _read(LlamaCppLLM(cfg.llm_model_path, cfg), prompts)
    assert third[0] == off[0] and third[2][0] == instruction
    assert saved[0].stat().st_size > 100_000
    # Another adapter setting is another state; states unused the longest are pruned to eight.
    for i in range(9):
        stale = states / f"prefix-stale{i}.llama-state"
        stale.write_bytes(b"old")
        os.utime(stale, (1_000_000 + i, 1_000_000 + i))
    _read(LlamaCppLLM(cfg.llm_model_path, cfg.with_overrides(llm={"adapter": "off"})), prompts)
    kept = {f.name for f in states.glob("prefix-*.llama-state")}
    assert len(kept) == 8 and saved[0].name in kept and "prefix-stale0.llama-state" not in kept
