"""The Ollama path over real HTTP, against the stand-in serving the real 1.5B GGUF."""

import json
import urllib.request
from pathlib import Path

import ollama
import pytest

from rag import Akhbar, BackendError, Config
from rag.embedder import SentenceTransformerEmbedder
from rag.llm import LlamaCppLLM, OllamaLLM, select_llm
from tests.conftest import AR_QUESTION, EN_QUESTION, free_port


def _cfg(cfg: Config, url: str, **llm: object) -> Config:
    return cfg.with_overrides(llm={"ollama_host": url, "ollama_model": "qwen2.5-coder:1.5b", **llm})


def test_standin_speaks_the_published_api(ollama_standin: str) -> None:
    client = ollama.Client(host=ollama_standin)
    names = [m.model for m in client.list().models]
    assert names == ["qwen2.5-coder:1.5b"]
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
    assert isinstance(sel.llm, OllamaLLM) and "Ollama" in sel.reason


def test_auto_falls_back_to_embedded_when_ollama_is_unreachable(prepared_config: Config) -> None:
    sel = select_llm(_cfg(prepared_config, f"http://127.0.0.1:{free_port()}", backend="auto"))
    assert isinstance(sel.llm, LlamaCppLLM)
    assert "not reachable" in sel.reason


def test_auto_falls_back_when_model_missing_and_ollama_backend_says_how_to_fix(
        prepared_config: Config, ollama_standin: str) -> None:
    cfg = _cfg(prepared_config, ollama_standin, backend="auto", ollama_model="llama3:70b")
    sel = select_llm(cfg)
    assert isinstance(sel.llm, LlamaCppLLM) and "ollama pull llama3:70b" in sel.reason
    with pytest.raises(BackendError, match="ollama pull llama3:70b"):
        select_llm(cfg.with_overrides(llm={"backend": "ollama"}))


def test_ollama_backend_unreachable_is_a_clear_error(prepared_config: Config) -> None:
    with pytest.raises(BackendError, match="not reachable"):
        select_llm(_cfg(prepared_config, f"http://127.0.0.1:{free_port()}", backend="ollama"))


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
