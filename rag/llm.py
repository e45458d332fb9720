"""LLM adapters: Ollama (official ``ollama`` client) and embedded llama.cpp
(``llama-cpp-python``), behind one small streaming protocol.

Both take chat messages and yield text pieces; both apply the model's own chat template
(Ollama's Modelfile, the GGUF's template in llama.cpp), a repeat penalty (the 1.5B model
loops on a word without one) and a token limit. ``select_llm`` implements
``llm.backend = auto``: Ollama when it answers and has the model, else the embedded GGUF,
with the reason recorded. Heavy imports happen on first use.

We call ``ollama.Client`` and ``llama_cpp.Llama`` directly rather than through
llama-index's LLM wrappers: those wrappers would re-template the chat for llama.cpp and add
nothing for streaming, options or error handling that we need.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rag.config import Config
from rag.errors import BackendError, ModelError
from rag.prompts import chatml

Message = dict[str, str]


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class LLM(Protocol):
    backend: str
    model: str

    def stream_chat(self, messages: Sequence[Message], stats: GenerationStats) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


@dataclass(frozen=True)
class CopiedSpan:
    """A reply constrained to copy a span of the evidence (``rag.constrain``)."""

    text: str  # the span, stripped
    offsets: tuple[tuple[int, int], ...]  # every place in the evidence it matches
    logprobs: tuple[float, ...]  # the model's own (unconstrained) log-probability of each token
    stopped: bool  # ended by the model, not by the token limit
    # The model's own log-probability, at the first step, of starting the reply it is told
    # to give when the text lacks the answer (0 when not asked for).
    none_logprob: float = 0.0


class SpanReader(Protocol):
    """An LLM that can also read a span by copying (the extractive reader needs it)."""

    def copy_span(self, messages: Sequence[Message], evidence: str, stats: GenerationStats,
                  max_tokens: int = 24, starts: set[int] | None = None,
                  bare_number_end: bool = True, none_text: str = "",
                  ends_when: Callable[[str], bool] | None = None) -> CopiedSpan: ...

    def choice_logprobs(self, messages: Sequence[Message], options: Sequence[Sequence[str]],
                        stats: GenerationStats) -> tuple[float, ...]: ...


# ---------------------------------------------------------------------------- llama.cpp

# The ctypes callback handed to llama.cpp must outlive every call into it: held here.
_LLAMA_LOG: list[Any] = []


def _llama_errors_only() -> None:
    """llama.cpp's log, errors only. llama-cpp-python maps ggml's newer level numbers one
    off (WARN shows as ERROR), so a quiet model still printed ~100 "cannot use buft
    CPU_REPACK" warnings on stderr each time the reader's adapter loaded."""
    if _LLAMA_LOG:
        return
    import ctypes
    import sys

    import llama_cpp

    error = 4  # ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5

    @llama_cpp.llama_log_callback
    def log(level: int, text: bytes, user_data: Any) -> None:
        if level == error:
            print(text.decode("utf-8", "replace"), end="", file=sys.stderr, flush=True)

    _LLAMA_LOG.append(log)
    llama_cpp.llama_log_set(log, ctypes.c_void_p(0))


def _write_cache(path: Path, write: Callable[[Path], bool]) -> None:
    """``write(tmp)`` then a rename onto ``path``, so a reader never sees half a file. A
    cache that cannot be written (a read-only home) only costs the next process the time
    it would have saved."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if write(tmp):
            os.replace(tmp, path)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


class LlamaCppLLM:
    backend = "llamacpp"

    def __init__(self, path: Path, config: Config) -> None:
        from rag.models import active_adapter

        self.path = Path(path)
        # The reader's LoRA (llm.adapter), when one applies to this GGUF: named in the
        # model, so an Answer says which reader wrote it.
        self.adapter = active_adapter(config, self.path)
        self.model = self.path.name + (f"+{self.adapter.stem}" if self.adapter else "")
        self.cfg = config.llm
        self._llm: Any = None
        self._lock = threading.Lock()  # one generation at a time per loaded model
        # Loading once: concurrent first questions must not construct several models
        # (llama.cpp's loader is not thread-safe, and each copy costs its KV cache).
        self._load_lock = threading.Lock()
        self._vocab_cache: tuple[dict[bytes, list[int]], list[bytes]] | None = None
        self._preload: threading.Thread | None = None
        # The system message's KV state, saved for the next process (``_restore_prefix``).
        self._state_dir: Path | None = config.home / "cache" / "llm-state" if config.llm.prefix_cache else None
        # Whether the context applies the adapter now. It was taught to copy a span of the
        # evidence, never to write a free answer, so only the copying calls (copy_span,
        # choice_logprobs, prime) read with it; stream_chat reads without.
        self._adapter_on = self.adapter is not None

    def preload(self) -> None:
        """Start loading the model on a background thread and return at once; the first
        call that needs the model waits for it. A failed load is left for that call to
        raise, where it is reported."""
        if self._llm is not None or self._preload is not None:
            return

        def load() -> None:
            # A failure is left for the next _load() to raise, where it is reported.
            with contextlib.suppress(Exception):
                self._load()

        self._preload = threading.Thread(target=load, name="akhbar-llm-load", daemon=True)
        self._preload.start()

    def _load(self) -> Any:
        if self._llm is None:
            with self._load_lock:
                if self._llm is None:
                    self._llm = self._construct()
        return self._llm

    def _construct(self) -> Any:
        if not self.path.exists():
            raise ModelError(f"GGUF model not found at {self.path}; run `akhbar models prepare`")
        # With OpenMP spinning, llama.cpp collapses to <2 tokens/s when another process
        # holds a core; passive waiting keeps ~10 tokens/s on 2 cores.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama

            _llama_errors_only()
            threads = self.cfg.threads or max(1, os.cpu_count() or 1)
            return Llama(
                model_path=str(self.path),
                lora_path=str(self.adapter) if self.adapter else None,
                n_ctx=self.cfg.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=256,
                verbose=False,
            )
        except Exception as e:
            with_adapter = f" with the adapter {self.adapter}" if self.adapter else ""
            raise ModelError(f"cannot load GGUF model {self.path}{with_adapter}: {e}") from e

    def _with_adapter(self, llm: Any, on: bool) -> None:
        """Apply the adapter to the following evaluations, or stop applying it. Caller holds
        ``_lock``. The KV cache was computed under the other weights, so a switch drops it
        (the next prompt is read whole)."""
        on = on and self.adapter is not None
        if on == self._adapter_on:
            return
        import ctypes

        import llama_cpp

        if on:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(llm._lora_adapter)
            scales = (ctypes.c_float * 1)(llm.lora_scale)
            failed = llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, adapters, 1, scales)
        else:
            failed = llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None)
        if failed:
            raise BackendError(f"llama.cpp could not {'apply' if on else 'remove'} the adapter {self.adapter}")
        llm.reset()
        self._adapter_on = on

    def count_tokens(self, text: str) -> int:
        return len(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream_chat(self, messages: Sequence[Message], stats: GenerationStats) -> Iterator[str]:
        llm = self._load()
        with self._lock:
            try:
                self._with_adapter(llm, False)
                stream = llm.create_chat_completion(
                    messages=list(messages),
                    stream=True,
                    temperature=self.cfg.temperature,
                    repeat_penalty=self.cfg.repeat_penalty,
                    max_tokens=self.cfg.max_tokens,
                    seed=self.cfg.seed,
                )
                for part in stream:
                    piece = part["choices"][0].get("delta", {}).get("content")
                    if piece:
                        stats.completion_tokens += 1
                        yield piece
            except Exception as e:
                raise BackendError(f"llama.cpp generation failed: {e}") from e


    def _vocab(self) -> tuple[dict[bytes, list[int]], list[bytes]]:
        """Every token's bytes and the copy constraint's index of them: ~0.4 s of Python
        over 150k tokens, so kept beside the prefix states for the next process."""
        if self._vocab_cache is None:
            import marshal
            import sys

            import llama_cpp

            from rag.constrain import vocabulary

            llm = self._load()
            # marshal's format is Python's own: its version is part of the name.
            path = self._cache_file("vocab", "marshal", [sys.version, llama_cpp.__version__, self.path])
            if path is not None and path.exists():
                try:
                    index, pieces = marshal.loads(path.read_bytes())
                    if isinstance(index, dict) and isinstance(pieces, list) and len(pieces) == llm.n_vocab():
                        self._vocab_cache = (index, pieces)
                        return self._vocab_cache
                except (OSError, ValueError, EOFError, TypeError):
                    pass  # unreadable: rebuilt and written again below
            pieces = [llm.detokenize([i]) for i in range(llm.n_vocab())]
            self._vocab_cache = (vocabulary(enumerate(pieces)), pieces)
            if path is not None:
                data = marshal.dumps(self._vocab_cache)
                _write_cache(path, lambda tmp: tmp.write_bytes(data) > 0)
        return self._vocab_cache

    def _chatml(self, messages: Sequence[Message]) -> str:
        template = str(self._load().metadata.get("tokenizer.chat_template", ""))
        if "<|im_start|>" not in template:
            raise BackendError(f"{self.model}: copy-constrained reading needs a ChatML model")
        return chatml(list(messages))

    def prime(self, prefix: Sequence[Message]) -> None:
        """Load the model, build the copy constraint's vocabulary and read ``prefix`` (the
        messages every prompt starts with) into the KV cache, so that the first question
        costs what a later one does."""
        llm = self._load()
        self._vocab()
        body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in prefix)
        with self._lock:
            try:
                self._with_adapter(llm, True)
                tokens = llm.tokenize(body.encode("utf-8"), add_bos=False, special=True)
                llm.reset()
                self._restore_prefix(llm, tokens)
            except Exception as e:
                raise BackendError(f"llama.cpp could not read the prompt prefix: {e}") from e

    def _eval_prompt(self, llm: Any, messages: Sequence[Message]) -> int:
        """Evaluate the ChatML prompt, keeping the KV cache's longest common prefix with the
        previous call (a shared instruction and evidence are read once); its token count.
        A fresh process starts from the system message's state saved on disk by an earlier
        one (``_restore_prefix``)."""
        tokens = llm.tokenize(self._chatml(messages).encode("utf-8"), add_bos=False, special=True)
        if llm.n_tokens == 0 and self._state_dir is not None:
            end = llm.tokenize(b"<|im_end|>", add_bos=False, special=True)
            if len(end) == 1 and end[0] in tokens:
                cut = tokens.index(end[0]) + 2  # the system message's <|im_end|> and its newline
                if cut < len(tokens):
                    self._restore_prefix(llm, tokens[:cut])
        cached = 0
        for a, b in zip(llm.input_ids[:llm.n_tokens], tokens[:-1]):
            if a != b:
                break
            cached += 1
        llm.n_tokens = cached
        llm.eval(tokens[cached:])
        return len(tokens)

    def _cache_file(self, stem: str, ext: str, depends: Sequence[str | Path | None]) -> Path | None:
        """``<home>/cache/llm-state/<stem>-<digest>.<ext>``, the digest naming everything the file
        depends on (a file by its path, size and mtime; anything else as text). None when
        there is no cache directory (``llm.prefix_cache`` off)."""
        if self._state_dir is None:
            return None
        import hashlib

        parts = []
        for d in depends:
            if isinstance(d, Path):
                with contextlib.suppress(OSError):  # a file that is not there names nothing
                    st = d.stat()
                    parts.append(f"{d.resolve()} {st.st_size} {st.st_mtime_ns}")
            elif d is not None:
                parts.append(d)
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]
        return self._state_dir / f"{stem}-{digest}.{ext}"

    def _state_file(self, prefix: Sequence[int]) -> Path | None:
        """Where the KV state after ``prefix`` is kept: it depends on the model and adapter
        files, whether the adapter applies, the context size, llama.cpp's version and CPU
        build (another instruction set computes slightly other numbers), and the tokens."""
        import llama_cpp

        cpu_lib = Path(llama_cpp.__file__).parent / "lib" / "libggml-cpu.so"
        return self._cache_file("prefix", "llama-state", [llama_cpp.__version__, str(self.cfg.n_ctx),
                                                          str(self._adapter_on), self.path, self.adapter, cpu_lib,
                                                          str(list(prefix))])

    def _restore_prefix(self, llm: Any, tokens: Sequence[int]) -> None:
        """Start an empty context with ``tokens`` (a prompt's system message) read: from the
        state an earlier process saved, or by reading them and saving the state for the next
        one. The instruction is ~70 of a ~300-token prompt: ~1 s of a cold `akhbar ask` on
        2 cores. A missing or broken file just means the tokens are read."""
        import ctypes

        import llama_cpp

        prefix = list(tokens)
        cut = len(prefix)
        path = self._state_file(prefix)
        if path is None:
            llm.eval(prefix)
            return
        memory = llama_cpp.llama_get_memory(llm._ctx.ctx)
        if path.exists():
            llama_cpp.llama_memory_clear(memory, True)  # cells of an earlier prompt must not linger
            out = (llama_cpp.llama_token * cut)()
            n = ctypes.c_size_t(0)
            ok = llama_cpp.llama_state_load_file(llm._ctx.ctx, str(path).encode(), out, cut, ctypes.byref(n))
            if ok and n.value == cut and list(out) == prefix:
                llm.input_ids[:cut] = prefix
                llm.n_tokens = cut
                with contextlib.suppress(OSError):
                    os.utime(path)  # in use: the pruning below keeps the recently used
                return
            llm.reset()  # a stale or broken file: read the prompt whole, and write it anew
            llama_cpp.llama_memory_clear(memory, True)
        llm.eval(prefix)
        arr = (llama_cpp.llama_token * cut)(*prefix)
        _write_cache(path, lambda tmp: bool(llama_cpp.llama_state_save_file(llm._ctx.ctx, str(tmp).encode(), arr, cut)))
        # ~2 MB each, one per model, adapter, language and prompt wording: the eight used
        # last stay, so edited prompts and swapped models do not pile up.
        with contextlib.suppress(OSError):
            states = sorted(path.parent.glob("prefix-*.llama-state"), key=lambda f: f.stat().st_mtime, reverse=True)
            for old in states[8:]:
                old.unlink(missing_ok=True)

    def choice_logprobs(self, messages: Sequence[Message], options: Sequence[Sequence[str]],
                        stats: GenerationStats) -> tuple[float, ...]:
        """The model's log-probability of starting its reply with each option (an option is
        a few spellings of one word: their first tokens' probabilities add up)."""
        import numpy as np

        llm = self._load()
        with self._lock:
            try:
                self._with_adapter(llm, True)
                stats.prompt_tokens += self._eval_prompt(llm, messages)
                logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
            except Exception as e:
                raise BackendError(f"llama.cpp generation failed: {e}") from e
            top = float(logits.max())
            norm = top + float(np.log(np.exp(logits - top).sum()))
            out = []
            for spellings in options:
                ids = sorted({llm.tokenize(v.encode("utf-8"), add_bos=False, special=False)[0] for v in spellings})
                out.append(float(np.log(np.exp(logits[ids] - norm).sum())))
            return tuple(out)

    def copy_span(self, messages: Sequence[Message], evidence: str, stats: GenerationStats,
                  max_tokens: int = 24, starts: set[int] | None = None,
                  bare_number_end: bool = True, none_text: str = "",
                  ends_when: Callable[[str], bool] | None = None) -> CopiedSpan:
        """Greedy decoding where each token must continue a verbatim span of ``evidence``
        (``rag.constrain.CopyConstraint``). The KV cache keeps the longest common prefix
        with the previous call, so a shared instruction is read once."""
        import numpy as np

        from rag.constrain import CopyConstraint

        llm = self._load()
        vocab, pieces = self._vocab()
        stop = [llm.token_eos(), *llm.tokenize(b"<|im_end|>", add_bos=False, special=True)]
        constraint = CopyConstraint(evidence, vocab, stop, only_starts=starts, bare_number_end=bare_number_end,
                                    ends_when=ends_when)
        with self._lock:
            try:
                self._with_adapter(llm, True)
                stats.prompt_tokens = self._eval_prompt(llm, messages)
                logprobs: list[float] = []
                stopped = False
                none_ids = sorted({llm.tokenize(v.encode("utf-8"), add_bos=False, special=False)[0]
                                   for v in (none_text, " " + none_text) if none_text})
                none_logprob = 0.0
                for step in range(max_tokens):
                    logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
                    if step == 0 and none_ids:
                        top = float(logits.max())
                        norm = top + float(np.log(np.exp(logits - top).sum()))
                        none_logprob = float(np.log(np.exp(logits[none_ids] - norm).sum()))
                    allowed = constraint.allowed()
                    if not allowed:
                        break
                    ids = np.fromiter(allowed, dtype=np.int64)
                    choice = int(ids[int(np.argmax(logits[ids]))])
                    if choice in stop:
                        stopped = True
                        break
                    top = float(logits.max())
                    logprobs.append(float(logits[choice] - top - np.log(np.exp(logits - top).sum())))
                    constraint.advance(pieces[choice])
                    stats.completion_tokens += 1
                    llm.eval([choice])
            except BackendError:
                raise
            except Exception as e:
                raise BackendError(f"llama.cpp generation failed: {e}") from e
        return CopiedSpan(constraint.copied, tuple(constraint.spans()), tuple(logprobs), stopped, none_logprob)


# ------------------------------------------------------------------------------- Ollama


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
    from rag.models import adapter_info, modelfile

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


# ------------------------------------------------------------------------------ select


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
