"""The Ollama backend, through the official ``ollama`` client.

``OllamaClient`` wraps the client with Akhbar's timeout, retries on transient failures (a
refused connection, a 5xx) with doubling back-off, and errors that name the cause and the
fix. ``OllamaLLM`` streams a chat reply (the server applies the model's Modelfile
template) and ``check`` asks whether the server has the model; ``create_ollama_model``
registers the reader's adapter with the server.

It does not read by copying (the server returns no logits to constrain), so an answer
through Ollama is written freely. The ``ollama`` package is imported on first use.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.config import Config
from rag.errors import BackendError
from rag.llm.base import GenerationStats, Message
from rag.models import adapter_info, modelfile


def _ollama_client(host: str, timeout: float) -> Any:
    try:
        import ollama
    except ImportError as e:
        raise BackendError("the ollama package is not installed") from e
    return ollama.Client(host=host, timeout=timeout)


def _model_names(listing: Any) -> set[str]:
    names = set()
    for m in getattr(listing, "models", None) or []:
        name = getattr(m, "model", None) or getattr(m, "name", None)
        if name:
            names.add(name)
            if name.endswith(":latest"):
                names.add(name.removesuffix(":latest"))
    return names


def _is_timeout(e: BaseException) -> bool:
    return "timeout" in type(e).__name__.lower() or isinstance(e, TimeoutError)


def _transient(e: BaseException) -> bool:
    """Worth another try: the connection failed or the server answered 5xx."""
    status = getattr(e, "status_code", None)
    if isinstance(status, int):
        return status >= 500
    name = type(e).__name__
    return isinstance(e, ConnectionError) or name in ("ConnectError", "RemoteProtocolError", "ReadError",
                                                      "WriteError", "PoolTimeout")


class OllamaClient:
    """The official client with Akhbar's timeouts, retries and error messages."""

    def __init__(self, host: str, timeout_s: float, retries: int, backoff_s: float) -> None:
        self.host = host
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.client = _ollama_client(host, timeout_s)

    def explain(self, e: BaseException, model: str, what: str) -> BackendError:
        status = getattr(e, "status_code", None)
        if status == 404:
            return BackendError(f"Ollama at {self.host} has no model {model!r}; run `ollama pull {model}`")
        if _is_timeout(e):
            return BackendError(f"Ollama at {self.host} did not answer {what} within {self.timeout_s:g}s "
                                "(llm.timeout_s)")
        if isinstance(e, ConnectionError) or type(e).__name__ == "ConnectError":
            return BackendError(f"Ollama is not reachable at {self.host}: {e}")
        return BackendError(f"Ollama at {self.host} failed {what}: {e}")

    def call(self, what: str, model: str, fn: Any) -> Any:
        """``fn()`` with retries on transient failures; a BackendError naming the cause."""
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except Exception as e:
                if attempt < self.retries and _transient(e):
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise self.explain(e, model, what) from e
        raise AssertionError("unreachable")


def create_ollama_model(config: Config, adapter: Path, name: str, base: str | None = None,
                        progress: Callable[[str], None] | None = None) -> Path:
    """Register ``adapter`` with the Ollama server as the model ``name`` (``FROM base`` +
    ``ADAPTER``), through the official client: the adapter is uploaded as a blob, then
    ``/api/create`` names it. Writes the equivalent Modelfile beside the adapter (for
    ``ollama create -f``) and returns its path."""
    adapter = Path(adapter)
    adapter_info(adapter)  # a clear error for a file that is not a LoRA adapter
    base = base or config.llm.ollama_model
    llm = config.llm
    client = OllamaClient(llm.ollama_host, llm.timeout_s, llm.retries, llm.retry_backoff_s)
    digest = client.call("the adapter upload", base, lambda: client.client.create_blob(adapter))
    if progress:
        progress(f"uploaded {adapter.name} as {digest}")
    client.call("creating the model", base,
                lambda: client.client.create(model=name, from_=base, adapters={adapter.name: digest}, stream=False))
    target = adapter.with_name("Modelfile")
    target.write_text(modelfile(adapter, base), encoding="utf-8")
    return target


class OllamaLLM:
    backend = "ollama"

    def __init__(self, config: Config) -> None:
        self.cfg = config.llm
        self.host = config.llm.ollama_host
        self.model = config.llm.ollama_model
        self._ollama = OllamaClient(self.host, config.llm.timeout_s, config.llm.retries, config.llm.retry_backoff_s)
        self._client = self._ollama.client

    def count_tokens(self, text: str) -> int:
        # Ollama has no tokenize endpoint; ~3 characters per token is conservative for the
        # Qwen tokenizer on Arabic and English news text. Real counts come back per answer.
        return max(1, len(text) // 3)

    def check(self) -> None:
        """Raise BackendError unless the server answers and has the configured model."""
        names = _model_names(self._ollama.call("the model list", self.model, self._client.list))
        if self.model not in names:
            raise BackendError(
                f"Ollama at {self.host} has no model {self.model!r}; run `ollama pull {self.model}`"
            )

    def stream_chat(self, messages: Sequence[Message], stats: GenerationStats) -> Iterator[str]:
        def start() -> Iterator[Any]:
            stream = self._client.chat(
                model=self.model,
                messages=list(messages),
                stream=True,
                options={
                    "temperature": self.cfg.temperature,
                    "repeat_penalty": self.cfg.repeat_penalty,
                    "num_predict": self.cfg.max_tokens,
                    "num_ctx": self.cfg.n_ctx,
                    "seed": self.cfg.seed,
                },
            )
            # The request is sent (and its HTTP errors raised) when the first part is read:
            # read it inside the retried call.
            first = next(stream, None)
            return itertools.chain([first] if first is not None else [], stream)

        parts = self._ollama.call("the question", self.model, start)
        yielded = 0
        done = False
        try:
            for part in parts:
                piece = part.message.content if part.message else ""
                if piece:
                    yielded += 1
                    yield piece
                if part.done:
                    done = True
                    stats.prompt_tokens = part.prompt_eval_count or stats.prompt_tokens
                    stats.completion_tokens = part.eval_count or stats.completion_tokens
        except Exception as e:
            if yielded:
                raise BackendError(f"Ollama at {self.host} stopped mid-answer after {yielded} pieces: "
                                   f"{self._ollama.explain(e, self.model, 'the question')}") from e
            raise self._ollama.explain(e, self.model, "the question") from e
        if not done:
            raise BackendError(f"Ollama at {self.host} closed the answer stream before it was done "
                               f"(after {yielded} pieces)")
