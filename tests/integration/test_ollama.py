"""The Ollama path over real HTTP, against the stand-in serving the real 1.5B GGUF."""

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import ollama
import pytest

from rag import Akhbar, BackendError, Config, StoreError
from rag.embedder import SentenceTransformerEmbedder
from rag.llm import GenerationStats, LlamaCppLLM, OllamaLLM, select_llm
from tests.conftest import AR_QUESTION, EN_QUESTION


def _cfg(cfg: Config, url: str, **llm: object) -> Config:
    return cfg.with_overrides(llm={"ollama_host": url, "ollama_model": "qwen2.5-coder:1.5b", **llm})


def test_standin_speaks_the_published_api(ollama_standin: str) -> None:
    client = ollama.Client(host=ollama_standin)
    names = [m.model for m in client.list().models]
    assert names == ["qwen2.5-coder:1.5b", "multilingual-e5-small"]
    vectors = client.embed(model="multilingual-e5-small", input=["واحد", "two"]).embeddings
    assert len(vectors) == 2 and len(vectors[0]) == 384
    shown = client.show("qwen2.5-coder:1.5b")
    assert shown.details is not None and shown.details.format == "gguf"
    with urllib.request.urlopen(f"{ollama_standin}/api/version") as r:
        assert "version" in json.load(r)
    whole = client.chat(model="qwen2.5-coder:1.5b", messages=[{"role": "user", "content": "Say OK."}],
                        stream=False, options={"num_predict": 4, "temperature": 0})
    assert whole.done and whole.message.content
    with pytest.raises(ollama.ResponseError) as e:
        client.chat(model="missing:7b", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 404


def test_auto_prefers_ollama_when_it_has_the_model(prepared_config: Config, ollama_standin: str) -> None:
    sel = select_llm(_cfg(prepared_config, ollama_standin, backend="auto"))
    assert sel.llm.backend == "ollama" and "Ollama" in sel.reason


def test_auto_falls_back_to_embedded_when_ollama_is_unreachable(prepared_config: Config, refused_url: str) -> None:
    sel = select_llm(_cfg(prepared_config, refused_url, backend="auto"))
    assert isinstance(sel.llm, LlamaCppLLM)
    assert "not reachable" in sel.reason


def test_auto_falls_back_when_model_missing_and_ollama_backend_says_how_to_fix(
        prepared_config: Config, ollama_standin: str) -> None:
    cfg = _cfg(prepared_config, ollama_standin, backend="auto", ollama_model="llama3:70b")
    sel = select_llm(cfg)
    assert isinstance(sel.llm, LlamaCppLLM) and "ollama pull llama3:70b" in sel.reason
    with pytest.raises(BackendError, match="ollama pull llama3:70b"):
        select_llm(cfg.with_overrides(llm={"backend": "ollama"}))


def test_ollama_backend_unreachable_is_a_clear_error(prepared_config: Config, refused_url: str) -> None:
    with pytest.raises(BackendError, match="not reachable"):
        select_llm(_cfg(prepared_config, refused_url, backend="ollama"))


@pytest.mark.slow
def test_seed_questions_through_ollama(prepared_config: Config, seeded_home: Path, ollama_standin: str,
                                       embedder: SentenceTransformerEmbedder) -> None:
    bot = Akhbar(_cfg(prepared_config.with_overrides(home=seeded_home), ollama_standin, backend="ollama"),
                 embedder=embedder)
    items = list(bot.ask_stream(AR_QUESTION))
    ar = items[-1]
    assert len(items) > 2 and bot.llm.backend == "ollama"
    assert "2017" in ar.text, ar.text
    assert any(c.source_path.endswith("000_dcd787653053976f.txt") for c in ar.citations), ar.to_dict()
    assert ar.backend == "ollama" and ar.model == "qwen2.5-coder:1.5b"
    assert ar.prompt_tokens > 0 and ar.completion_tokens > 0  # reported by the server
    en = bot.ask(EN_QUESTION)
    assert "22" in en.text, en.text
    assert any(c.source_path.endswith("000_dcd787653053976f.txt") for c in en.citations), en.to_dict()


# ------------------------------------------------------------------ remote Ollama: faults


def _fault(url: str, mode: str, times: int = 1, seconds: float = 0.0) -> None:
    req = urllib.request.Request(f"{url}/__fault", data=json.dumps({"mode": mode, "times": times,
                                                                      "seconds": seconds}).encode(), method="POST")
    with urllib.request.urlopen(req) as r:
        assert json.load(r)["ok"]


@pytest.fixture()
def remote_bot(prepared_config: Config, seeded_home: Path, ollama_standin: str,
               embedder: SentenceTransformerEmbedder) -> Iterator[Akhbar]:
    cfg = _cfg(prepared_config.with_overrides(home=seeded_home), ollama_standin, backend="ollama",
               retries=2, retry_backoff_s=0.2, timeout_s=120.0, max_tokens=24)
    yield Akhbar(cfg, embedder=embedder)
    _fault(ollama_standin, "", 0)  # leave no fault armed for the next test


@pytest.mark.slow
def test_a_500_is_retried_and_the_answer_arrives(remote_bot: Akhbar, ollama_standin: str) -> None:
    remote_bot.llm.check()
    _fault(ollama_standin, "error_500", times=1)
    answer = remote_bot.ask(EN_QUESTION)
    assert answer.backend == "ollama" and answer.text and not answer.refused


@pytest.mark.slow
def test_persistent_500_is_a_clear_error_after_the_retries(remote_bot: Akhbar, ollama_standin: str) -> None:
    remote_bot.llm.check()
    _fault(ollama_standin, "error_500", times=3)  # first try + 2 retries
    t = time.monotonic()
    with pytest.raises(BackendError, match="llama runner process has terminated"):
        remote_bot.ask(EN_QUESTION)
    assert time.monotonic() - t >= 0.2 + 0.4  # backed off between tries


@pytest.mark.slow
def test_dropped_stream_is_reported_and_the_conversation_survives(remote_bot: Akhbar, ollama_standin: str) -> None:
    conv = remote_bot.conversation()
    first = conv.ask(EN_QUESTION)
    _fault(ollama_standin, "drop", times=3)  # the rewrite call and the answer both drop
    with pytest.raises(BackendError, match=r"stopped mid-answer|closed the answer stream"):
        conv.ask("And since when?")
    assert conv.turns == [first]  # the failed turn left no trace
    _fault(ollama_standin, "", 0)
    again = conv.ask("Since when have Russia, Iran and Turkey met in the Astana process?")
    assert len(conv.turns) == 2 and again.text


@pytest.mark.slow
def test_a_hanging_server_times_out_with_the_setting_named(remote_bot: Akhbar, ollama_standin: str) -> None:
    impatient = remote_bot.with_llm("ollama")
    impatient.config = impatient.config.with_overrides(llm={"timeout_s": 3.0})
    impatient.llm.check()
    # Without the timeout the reply would arrive after the hang and no error would be raised.
    _fault(ollama_standin, "hang", times=1, seconds=8)
    with pytest.raises(BackendError, match=r"did not answer the question within 3s \(llm.timeout_s\)"):
        impatient.ask(EN_QUESTION)


@pytest.mark.slow
def test_auto_falls_back_to_embedded_when_ollama_fails_mid_session(prepared_config: Config, seeded_home: Path,
                                                                  ollama_standin: str,
                                                                  embedder: SentenceTransformerEmbedder) -> None:
    cfg = _cfg(prepared_config.with_overrides(home=seeded_home), ollama_standin, backend="auto", retries=1,
               retry_backoff_s=0.1)
    bot = Akhbar(cfg, embedder=embedder)
    assert bot.llm.backend == "ollama"  # chosen: Ollama answers and has the model
    try:
        _fault(ollama_standin, "error_500", times=2)  # then it breaks: both tries fail
        answer = bot.ask(EN_QUESTION)
        assert answer.backend == "llamacpp" and "22" in answer.text, answer.to_dict()
        assert "Ollama failed" in str(answer.diagnostics.fallback)
        strict = Akhbar(cfg.with_overrides(llm={"fallback": False}), embedder=embedder)
        assert strict.llm.backend == "ollama"
        _fault(ollama_standin, "error_500", times=2)
        with pytest.raises(BackendError, match="llama runner process has terminated"):
            strict.ask(EN_QUESTION)
    finally:
        _fault(ollama_standin, "", 0)


def test_unreachable_host_is_retried_with_backoff(prepared_config: Config, refused_url: str) -> None:
    cfg = _cfg(prepared_config, refused_url, backend="ollama", retries=2, retry_backoff_s=0.2)
    t = time.monotonic()
    with pytest.raises(BackendError, match="not reachable"):
        select_llm(cfg)
    assert time.monotonic() - t >= 0.6


# ------------------------------------------------------------------ Ollama embeddings


@pytest.mark.store
@pytest.mark.slow
def test_ollama_embeddings_build_and_guard_their_collection(prepared_config: Config, ollama_standin: str,
                                                             tmp_path: Path) -> None:
    from tests.conftest import SEEDS

    cfg = _cfg(prepared_config.with_overrides(home=tmp_path / "home", store={"collection": "via-ollama"},
                                              embed={"backend": "ollama", "ollama_model": "multilingual-e5-small"}),
               ollama_standin, backend="ollama")
    bot = Akhbar(cfg)
    # The same two phases as with the packaged embedder: text first, vectors from /api/embed after.
    report = bot.ingest(SEEDS, wait=False, behind=False)
    assert report.new_chunks > 0 and report.pending_vectors == report.new_chunks and bot.store.count() == 0
    assert bot.stats().embedding_model.name == "ollama:multilingual-e5-small"
    status = bot.complete_vectors()
    assert status.pending == 0 and status.done == report.new_chunks and bot.store.count() == report.new_chunks
    hits = bot.retrieve(EN_QUESTION)
    assert hits and hits[0].chunk.source_path.endswith("000_dcd787653053976f.txt")
    answer = bot.ask(EN_QUESTION)
    assert "22" in answer.text and answer.citations, answer.to_dict()
    # The collection remembers its model: the packaged embedder may not write or query it.
    with pytest.raises(StoreError, match="built with embedding model 'ollama:multilingual-e5-small'"):
        _ = Akhbar(cfg.with_overrides(embed={"backend": "sentence-transformers"})).store
    missing = Akhbar(cfg.with_overrides(store={"collection": "other"}, embed={"ollama_model": "bge-m3"}))
    with pytest.raises(BackendError, match="ollama pull bge-m3"):
        missing.ingest(SEEDS)


def _random_adapter(path: Path, layers: int = 28, dim: int = 1536, kv: int = 256, rank: int = 2) -> Path:
    """A small LoRA in the shape of the packaged 1.5B's attention (what a trained adapter is)."""
    import numpy as np

    from rag.teach import write_adapter

    rng = np.random.default_rng(0)
    tensors = {}
    for b in range(layers):
        for name, rows in (("attn_q", dim), ("attn_k", kv), ("attn_v", kv), ("attn_output", dim)):
            tensors[f"blk.{b}.{name}.weight.lora_a"] = rng.normal(0, 0.01, size=(rank, dim)).astype(np.float32)
            tensors[f"blk.{b}.{name}.weight.lora_b"] = rng.normal(0, 0.01, size=(rows, rank)).astype(np.float32)
    return write_adapter(tensors, path, alpha=2, base_sha256="0" * 64)


def test_ollama_create_registers_the_reader_adapter_and_the_new_model_answers(
        prepared_config: Config, ollama_standin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from rag.cli import main

    adapter = _random_adapter(tmp_path / "akhbar-reader.gguf")
    monkeypatch.setenv("AKHBAR_LLM_OLLAMA_HOST", ollama_standin)
    monkeypatch.setenv("AKHBAR_HOME", str(tmp_path / "home"))
    assert main(["models", "ollama-create", "--adapter", str(adapter), "--name", "akhbar-reader-test"]) == 0
    out = capsys.readouterr().out
    assert "created Ollama model akhbar-reader-test" in out
    modelfile = (tmp_path / "Modelfile").read_text()
    assert modelfile == "FROM qwen2.5-coder:1.5b\nADAPTER ./akhbar-reader.gguf\n"

    client = ollama.Client(host=ollama_standin)
    assert "akhbar-reader-test:latest" in {m.model for m in client.list().models}
    assert "ADAPTER" in (client.show("akhbar-reader-test").modelfile or "")
    llm = OllamaLLM(_cfg(prepared_config, ollama_standin, backend="ollama", ollama_model="akhbar-reader-test"))
    reply = "".join(llm.stream_chat([{"role": "user", "content": "ما عاصمة السعودية؟"}], GenerationStats()))
    assert reply.strip()


def test_ollama_create_on_a_base_the_server_lacks_says_so(prepared_config: Config, ollama_standin: str,
                                                          tmp_path: Path) -> None:
    from rag.llm import create_ollama_model

    adapter = _random_adapter(tmp_path / "a.gguf", layers=1)
    with pytest.raises(BackendError, match="no model 'llama3:70b'"):
        create_ollama_model(_cfg(prepared_config, ollama_standin, backend="ollama"), adapter, "x", base="llama3:70b")
