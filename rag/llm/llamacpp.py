"""The embedded LLM: a GGUF model run in-process by llama.cpp (``llama-cpp-python``).

``LlamaCppLLM`` streams a chat reply through the GGUF's own chat template, and reads by
copying: ``copy_span`` decodes greedily among the tokens that keep the reply a verbatim span
of the evidence (``rag.llm.constrain``), ``choice_logprobs`` scores a reply's first word.
The copying calls apply the reader's LoRA adapter (``llm.adapter``) when there is one; the
free chat never does. The KV cache keeps the longest common prefix with the previous call,
and a fresh process starts from the system message's state saved by an earlier one
(``rag.llm.cache``).

llama.cpp is imported on first use, and the model loads once per ``LlamaCppLLM``.
``llama_cpp.Llama`` is called directly rather than through llama-index's wrapper, which
would re-template the chat and add nothing we need.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.config import Config
from rag.errors import BackendError, ModelError
from rag.llm.base import CopiedSpan, GenerationStats, Message, ReplyScore
from rag.llm.cache import Vocabulary, copy_vocabulary, prefix_state_file, restore_prefix
from rag.llm.constrain import CopyConstraint
from rag.models import active_adapter
from rag.prompts import chatml

# The ctypes callback handed to llama.cpp must outlive every call into it: held here.
_LLAMA_LOG: list[Any] = []


def _llama_errors_only() -> None:
    """llama.cpp's log, errors only. llama-cpp-python maps ggml's newer level numbers one
    off (WARN shows as ERROR), so without this a quiet model still prints its warnings on
    stderr."""
    if _LLAMA_LOG:
        return
    import llama_cpp

    error = 4  # ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5

    @llama_cpp.llama_log_callback
    def log(level: int, text: bytes, user_data: Any) -> None:
        if level == error:
            print(text.decode("utf-8", "replace"), end="", file=sys.stderr, flush=True)

    _LLAMA_LOG.append(log)
    llama_cpp.llama_log_set(log, ctypes.c_void_p(0))


class LlamaCppLLM:
    backend = "llamacpp"

    def __init__(self, path: Path, config: Config) -> None:
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
        self._vocab_cache: Vocabulary | None = None
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

    def settle(self) -> None:
        """Wait for a background load to end. llama.cpp's loader sends the whole process's
        stdout and stderr to /dev/null while it runs, so a reply printed meanwhile is lost."""
        if self._preload is not None:
            self._preload.join()

    def _load(self) -> Any:
        if self._llm is None:
            with self._load_lock:
                if self._llm is None:
                    self._llm = self._construct()
        return self._llm

    def _construct(self) -> Any:
        if not self.path.exists():
            raise ModelError(f"GGUF model not found at {self.path}; run `akhbar models prepare`")
        # OpenMP's spinning threads stall llama.cpp when another process holds a core;
        # passive waiting does not.
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

    def _vocab(self) -> Vocabulary:
        """Every token's bytes and the copy constraint's index of them (``rag.llm.cache``)."""
        if self._vocab_cache is None:
            self._vocab_cache = copy_vocabulary(self._load(), self._state_dir, self.path)
        return self._vocab_cache

    def _chatml(self, messages: Sequence[Message]) -> str:
        template = str(self._load().metadata.get("tokenizer.chat_template", ""))
        if "<|im_start|>" not in template:
            raise BackendError(f"{self.model}: copy-constrained reading needs a ChatML model")
        return chatml(messages)

    def prime(self, prefix: Sequence[Message]) -> None:
        """Load the model, build the copy constraint's vocabulary and read ``prefix`` (the
        messages every prompt starts with) into the KV cache, so that the first question
        costs what a later one does."""
        llm = self._load()
        self._vocab()
        body = chatml(prefix, reply=False)
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

    def _restore_prefix(self, llm: Any, tokens: Sequence[int]) -> None:
        """Start an empty context with ``tokens`` (a prompt's system message) read: from the
        state an earlier process saved, or by reading them and saving the state for the next
        one (``rag.llm.cache``)."""
        prefix = list(tokens)
        path = None
        if self._state_dir is not None:
            path = prefix_state_file(self._state_dir, prefix, n_ctx=self.cfg.n_ctx, adapter_on=self._adapter_on,
                                     model=self.path, adapter=self.adapter)
        restore_prefix(llm, prefix, path)

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

    def score_replies(self, messages: Sequence[Message], replies: Sequence[str],
                      stats: GenerationStats) -> tuple[ReplyScore, ...]:
        """The model's log-probability of each reply, read after the prompt: the prompt is read
        once (its KV cache kept), each reply in one batch of its tokens (teacher forcing), then
        dropped from the cache again; plus the log-probability of ending the reply there."""
        import numpy as np

        llm = self._load()
        end_id = llm.tokenize(b"<|im_end|>", add_bos=False, special=True)[0]

        def log_softmax(row: Any) -> Any:
            logits = np.ctypeslib.as_array(row, shape=(llm.n_vocab(),)).astype(np.float64)
            top = float(logits.max())
            return logits - top - float(np.log(np.exp(logits - top).sum()))

        out = []
        with self._lock:
            try:
                self._with_adapter(llm, True)
                stats.prompt_tokens += self._eval_prompt(llm, messages)
                base = llm.n_tokens
                first = log_softmax(llm._ctx.get_logits())
                for reply in replies:
                    tokens = llm.tokenize(reply.encode("utf-8"), add_bos=False, special=False)[:64]
                    if not tokens:
                        out.append(ReplyScore((), float(first[end_id])))
                        continue
                    llm._ctx.kv_cache_seq_rm(-1, base, -1)
                    llm._batch.set_batch(batch=tokens, n_past=base, logits_all=True)
                    llm._ctx.decode(llm._batch)
                    rows = [first] + [log_softmax(llm._ctx.get_logits_ith(i)) for i in range(len(tokens))]
                    out.append(ReplyScore(tuple(float(rows[i][t]) for i, t in enumerate(tokens)),
                                          float(rows[-1][end_id])))
                    stats.prompt_tokens += len(tokens)
                # The replies leave nothing behind: the cache holds the prompt, as after reading it.
                llm._ctx.kv_cache_seq_rm(-1, base, -1)
                llm.n_tokens = base
            except Exception as e:
                raise BackendError(f"llama.cpp scoring failed: {e}") from e
        return tuple(out)

    def copy_span(self, messages: Sequence[Message], evidence: str, stats: GenerationStats,
                  max_tokens: int = 24, starts: set[int] | None = None,
                  bare_number_end: bool = True, none_text: str = "",
                  ends_when: Callable[[str], bool] | None = None, alternatives: int = 0) -> CopiedSpan:
        """Greedy decoding where each token must continue a verbatim span of ``evidence``
        (``rag.llm.constrain.CopyConstraint``). The KV cache keeps the longest common prefix
        with the previous call, so a shared instruction is read once. With ``alternatives``,
        as many more copies, each started from the next-best first token the constraint
        allowed and continued greedily (``CopiedSpan.alternatives``: a beam per first token)."""
        import numpy as np

        llm = self._load()
        vocab, pieces = self._vocab()
        stop = [llm.token_eos(), *llm.tokenize(b"<|im_end|>", add_bos=False, special=True)]

        def constraint() -> CopyConstraint:
            return CopyConstraint(evidence, vocab, stop, only_starts=starts, bare_number_end=bare_number_end,
                                  ends_when=ends_when)

        def log_softmax() -> Any:
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
            top = float(logits.max())
            return logits - top - float(np.log(np.exp(logits - top).sum()))

        def greedy(c: CopyConstraint, logprobs: list[float], steps: int) -> bool:
            """Continue ``c`` greedily from the logits at hand; whether the model ended it."""
            for _ in range(steps):
                row = log_softmax()
                allowed = c.allowed()
                if not allowed:
                    return False
                ids = np.fromiter(allowed, dtype=np.int64)
                choice = int(ids[int(np.argmax(row[ids]))])
                if choice in stop:
                    return True
                logprobs.append(float(row[choice]))
                c.advance(pieces[choice])
                stats.completion_tokens += 1
                llm.eval([choice])
            return False

        with self._lock:
            try:
                self._with_adapter(llm, True)
                stats.prompt_tokens = self._eval_prompt(llm, messages)
                base = llm.n_tokens
                none_ids = sorted({llm.tokenize(v.encode("utf-8"), add_bos=False, special=False)[0]
                                   for v in (none_text, " " + none_text) if none_text})
                first = log_softmax()
                none_logprob = float(np.log(np.exp(first[none_ids]).sum())) if none_ids else 0.0
                main = constraint()
                # Only when beams are asked for: the allowed set is walked again here.
                firsts = sorted(main.allowed() - set(stop), key=lambda t: -first[t]) if alternatives else []
                logprobs: list[float] = []
                stopped = greedy(main, logprobs, max_tokens)
                others: list[CopiedSpan] = []
                seen = {main.copied}
                for token in firsts[1:1 + 3 * alternatives]:  # a few tries: two first tokens may make one copy
                    if len(others) >= alternatives:
                        break
                    c = constraint()
                    c.advance(pieces[token])
                    if c.copied.strip() in {x.strip() for x in seen} or not c.copied.strip():
                        continue  # the same word start as a copy already made
                    llm.n_tokens = base  # back to the prompt: eval drops the cache after it
                    llm.eval([token])
                    alt_logprobs = [float(first[token])]
                    alt_stopped = greedy(c, alt_logprobs, max_tokens - 1)
                    if c.copied not in seen:
                        seen.add(c.copied)
                        others.append(CopiedSpan(c.copied, tuple(c.spans()), tuple(alt_logprobs), alt_stopped,
                                                 none_logprob))
            except BackendError:
                raise
            except Exception as e:
                raise BackendError(f"llama.cpp generation failed: {e}") from e
        return CopiedSpan(main.copied, tuple(main.spans()), tuple(logprobs), stopped, none_logprob, tuple(others))
