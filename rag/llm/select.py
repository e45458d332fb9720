"""Which backend answers: ``select_llm`` implements ``llm.backend``.

``llamacpp`` and ``ollama`` are taken as configured (``ollama`` fails at once when the
server lacks the model); ``auto`` takes Ollama when it answers a short probe and has the
model, else the embedded GGUF, and records why in ``Selection.reason``. With
``llm.fallback``, ``FallbackLLM`` lets the embedded model answer a question Ollama failed
before its first token. Selecting builds the adapters but loads no model: the GGUF loads
on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rag.config import Config
from rag.errors import BackendError
from rag.llm.base import LLM, GenerationStats, Message
from rag.llm.llamacpp import LlamaCppLLM
from rag.llm.ollama import OllamaLLM


class FallbackLLM:
    """``auto`` with ``llm.fallback``: Ollama answers; when it fails before its first token
    (down, 5xx after retries, timeout), the embedded model answers that question. Which one
    answered is written to ``stats.extra`` ("backend", "model", "fallback")."""

    backend = "ollama"

    def __init__(self, primary: OllamaLLM, config: Config) -> None:
        self.primary = primary
        self.model = primary.model
        self.config = config
        self._secondary: LlamaCppLLM | None = None
        self._lock = threading.Lock()

    def secondary(self) -> LlamaCppLLM:
        with self._lock:
            if self._secondary is None:
                self._secondary = LlamaCppLLM(self.config.llm_model_path, self.config)
            return self._secondary

    def count_tokens(self, text: str) -> int:
        return self.primary.count_tokens(text)

    def stream_chat(self, messages: Sequence[Message], stats: GenerationStats) -> Iterator[str]:
        started = False
        try:
            for piece in self.primary.stream_chat(messages, stats):
                started = True
                yield piece
            return
        except BackendError as e:
            if started:
                raise
            reason = str(e)
        backup = self.secondary()
        stats.extra.update({"backend": backup.backend, "model": backup.model,
                            "fallback": f"Ollama failed, the embedded model answered: {reason}"})
        yield from backup.stream_chat(messages, stats)


@dataclass(frozen=True)
class Selection:
    llm: LLM
    reason: str


def select_llm(config: Config) -> Selection:
    backend = config.llm.backend
    if backend == "llamacpp":
        return Selection(LlamaCppLLM(config.llm_model_path, config), "llm.backend = llamacpp")
    if backend == "ollama":
        ollama_llm = OllamaLLM(config)
        ollama_llm.check()
        return Selection(ollama_llm, "llm.backend = ollama")
    try:
        probe = OllamaLLM(config.with_overrides(llm={"timeout_s": 2.0, "retries": 0}))
        probe.check()
    except BackendError as e:
        return Selection(LlamaCppLLM(config.llm_model_path, config), f"auto: embedded llama.cpp ({e})")
    chosen: LLM = OllamaLLM(config)
    if config.llm.fallback:
        chosen = FallbackLLM(OllamaLLM(config), config)
    return Selection(chosen, f"auto: Ollama at {config.llm.ollama_host} has {config.llm.ollama_model}")
