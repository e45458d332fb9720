"""Embedding adapters behind a small protocol: sentence-transformers, its ONNX export, Ollama.

The model is loaded from a local folder only (``HF_HUB_OFFLINE=1``); a hub name is never
resolved, because that retries the network for a minute before failing. Text is
normalised (NFKC, Arabic diacritics and tatweel out) before it is embedded, and the
model's own ``query``/``passage`` prompts are applied. On CPUs with native bfloat16 (AMX,
AVX512-BF16) the sentence-transformers weights run in bfloat16: ~4x faster than float32 on
2 cores, cosine ~1.0 to the float32 vectors. torch and onnxruntime are imported on first
use, so ``import rag`` stays fast; :class:`OnnxEmbedder` never imports torch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from rag.errors import ModelError
from rag.text import normalize_for_embedding


class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def count_tokens(self, text: str) -> int: ...


def offline_env() -> None:
    """Make every Hugging Face library refuse the network instead of retrying it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # transformers draws a "Loading weights" bar on stderr for a local folder: noise in a CLI.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bfloat16 in hardware (AMX-BF16 or AVX512-BF16)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str) -> str:
    if precision == "auto":
        return "bfloat16" if cpu_has_native_bf16() else "float32"
    return precision


class SentenceTransformerEmbedder:
    def __init__(self, path: Path, batch_size: int = 8, name: str | None = None, precision: str = "auto",
                 compile_after: int = 0) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self.name = name or self.path.name
        self.precision = resolve_precision(precision)
        self.compile_after = compile_after
        self.embedded = 0  # passages embedded by this process
        self.compiled = False
        self._model: Any = None
        self._lock = threading.Lock()
        self._encode_lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    if not (self.path / "modules.json").exists():
                        raise ModelError(
                            f"embedding model not found at {self.path}; run `akhbar models prepare`"
                        )
                    offline_env()
                    try:
                        from sentence_transformers import SentenceTransformer

                        model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
                        if self.precision == "bfloat16":
                            import torch

                            model.to(torch.bfloat16)
                        self._model = model
                    except Exception as e:  # library errors vary by version; surface one clear message
                        raise ModelError(f"cannot load embedding model from {self.path}: {e}") from e
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        dim = model.get_sentence_embedding_dimension()
        return int(dim) if dim else 0

    def _maybe_compile(self, model: Any) -> Any:
        """The transformer compiled, once this process has embedded ``compile_after``
        passages; the eager module to fall back to (None when nothing changed)."""
        if self.compiled or not self.compile_after or self.embedded < self.compile_after:
            return None
        import torch

        self.compiled = True
        eager = model[0].model
        try:
            model[0].model = torch.compile(eager, dynamic=True)
        except Exception:  # no inductor on this platform: stay eager
            return None
        return eager

    def _encode(self, texts: Sequence[str], prompt_name: str) -> list[list[float]]:
        model = self._load()
        prompts = getattr(model, "prompts", {}) or {}
        kwargs: dict[str, Any] = {"prompt_name": prompt_name} if prompt_name in prompts else {}
        import numpy as np

        def encode() -> Any:
            return model.encode(
                [normalize_for_embedding(t) for t in texts],
                batch_size=self.batch_size,
                normalize_embeddings=self.precision == "float32",
                convert_to_tensor=True,
                show_progress_bar=False,
                **kwargs,
            )

        with self._encode_lock:  # the swap below must not race another thread's encode
            eager = self._maybe_compile(model)
            try:
                vecs = encode()
            except Exception:
                if eager is None:
                    raise
                # Compiling happens on the first call; if it fails (no C++ compiler), eager.
                model[0].model = eager
                vecs = encode()
            self.embedded += len(texts)
        arr = vecs.float().cpu().numpy()
        if self.precision != "float32":
            # Normalise in float32: a bf16 norm is only good to ~3 digits.
            arr = arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
        return [list(map(float, v)) for v in arr]

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encode(texts, "passage")

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query")[0]

    def count_tokens(self, text: str) -> int:
        """Tokens the model reads for ``text`` as a passage, specials included."""
        model = self._load()
        prompt = (getattr(model, "prompts", {}) or {}).get("passage", "")
        # Under the encode lock: encode() sets padding and truncation on the same (Rust)
        # tokenizer, and the UI ingests on one thread while a question is embedded on another.
        with self._encode_lock:
            # verbose=False: the chunker counts whole segments, which may exceed 512 on purpose.
            ids = model.tokenizer(prompt + normalize_for_embedding(text), add_special_tokens=True,
                                  verbose=False)["input_ids"]
        return len(ids)


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class OnnxEmbedder:
    """The question side of retrieval (``embed.query_engine``): the vectors of
    :class:`SentenceTransformerEmbedder` in float32, from the model's ONNX export
    (:mod:`rag.models_onnx`, made by ``akhbar models prepare``) run by onnxruntime, with the
    folder's own ``tokenizer.json``. Neither torch nor sentence-transformers is imported:
    that import is most of a cold ``akhbar ask``. Ingest stays on sentence-transformers,
    which runs bfloat16 where the CPU has it."""

    def __init__(self, path: Path, name: str | None = None, batch_size: int = 4) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        self.batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._record: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    from rag.models_onnx import GRAPH_FILE, onnx_dir, onnx_status, read_record

                    status = onnx_status(self.path)
                    if not status["ready"]:
                        raise ModelError(f"{status['problem']}; run `akhbar models prepare`")
                    offline_env()
                    try:
                        import onnxruntime as ort
                        from tokenizers import Tokenizer

                        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
                        tokenizer.no_padding()
                        tokenizer.no_truncation()
                        options = ort.SessionOptions()
                        # The cores this process may use (taskset, cgroups), not the machine's.
                        options.intra_op_num_threads = _usable_cores()
                        options.inter_op_num_threads = 1
                        # Idle threads sleep, not spin: llama.cpp reads the prompt on these cores next.
                        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                        options.log_severity_level = 3
                        session = ort.InferenceSession(str(onnx_dir(self.path) / GRAPH_FILE), options,
                                                       providers=["CPUExecutionProvider"])
                    except Exception as e:  # onnxruntime and tokenizers raise their own types
                        raise ModelError(f"cannot load the ONNX export of {self.path}: {e}; "
                                         "run `akhbar models prepare`") from e
                    self._record = read_record(self.path) or {}
                    self._tokenizer = tokenizer
                    self._session = session
        return self._session

    @property
    def dim(self) -> int:
        self._load()
        return int(self._record["dim"])

    def _ids(self, text: str, prompt_name: str, truncate: bool = True) -> list[int]:
        """The ids the model reads, specials included; ``truncate`` cuts the text (never the
        specials) to the model's length, as the Hugging Face tokenizer does."""
        tok = self._tokenizer
        enc = tok.encode(self._record["prompts"].get(prompt_name, "") + text, add_special_tokens=False)
        specials = tok.num_special_tokens_to_add(False)
        if truncate and len(enc.ids) + specials > self._record["max_tokens"]:
            enc.truncate(self._record["max_tokens"] - specials)
        return list(tok.post_process(enc).ids)

    def _encode(self, texts: Sequence[str], prompt_name: str) -> list[list[float]]:
        import numpy as np

        session = self._load()
        ids = [self._ids(normalize_for_embedding(t), prompt_name) for t in texts]
        out = np.zeros((len(ids), int(self._record["dim"])), dtype=np.float32)
        # Small length-sorted batches pad least: evidence sentences vary from a few words to a paragraph.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for s in range(0, len(order), self.batch_size):
            rows = order[s:s + self.batch_size]
            length = max(len(ids[i]) for i in rows)
            feed = {"input_ids": np.zeros((len(rows), length), dtype=np.int64)}
            mask = np.zeros((len(rows), length), dtype=np.int64)
            for r, i in enumerate(rows):
                feed["input_ids"][r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            feed["attention_mask"] = mask
            if "token_type_ids" in self._record["inputs"]:
                feed["token_type_ids"] = np.zeros_like(mask)
            tokens = session.run(None, feed)[0]
            weights = mask[:, :, None].astype(np.float32)
            out[rows] = (tokens * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        if self._record["normalize"]:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return [list(map(float, v)) for v in out]

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return self._encode(texts, "passage") if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query")[0]

    def count_tokens(self, text: str) -> int:
        """Tokens the model reads for ``text`` as a passage, specials included, uncut."""
        self._load()
        return len(self._ids(normalize_for_embedding(text), "passage", truncate=False))


class OllamaEmbedder:
    """Embeddings from Ollama's ``/api/embed`` (``embed.backend = "ollama"``), for users who
    serve e.g. bge-m3 there. The collection records ``ollama:<model>`` and refuses vectors
    from any other model. Token counts are estimated (Ollama has no tokenize endpoint)."""

    def __init__(self, host: str, model: str, timeout_s: float = 120.0, retries: int = 3,
                 backoff_s: float = 0.5, batch_size: int = 16) -> None:
        from rag.llm import OllamaClient

        self.name = f"ollama:{model}"
        self.model = model
        self.batch_size = batch_size
        self._ollama = OllamaClient(host, timeout_s, retries, backoff_s)
        self._dim = 0

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            batch = [normalize_for_embedding(t) for t in texts[i:i + self.batch_size]]
            res = self._ollama.call("the embedding request", self.model,
                                    lambda b=batch: self._ollama.client.embed(model=self.model, input=b))
            arr = np.asarray(res.embeddings, dtype=np.float32)
            if arr.ndim != 2 or arr.shape[0] != len(batch):
                raise ModelError(f"Ollama returned {arr.shape} embeddings for {len(batch)} texts")
            arr = arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
            out.extend([list(map(float, v)) for v in arr])
        if out:
            self._dim = len(out[0])
        return out

    @property
    def dim(self) -> int:
        if not self._dim:
            self._embed(["dimension probe"])
        return self._dim

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return self._embed(texts) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 3)
