"""Embedding adapter: sentence-transformers behind a small protocol.

The model is loaded from a local folder only (``HF_HUB_OFFLINE=1``); a hub name is never
resolved, because that retries the network for a minute before failing. Text is
normalised (NFKC, Arabic diacritics and tatweel out) before it is embedded, and the
model's own ``query``/``passage`` prompts are applied. On CPUs with native bfloat16 (AMX,
AVX512-BF16) the weights run in bfloat16: ~4x faster than float32 on 2 cores, cosine ~1.0
to the float32 vectors. torch is imported on first use, so ``import rag`` stays fast.
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


class NumpyEmbedder:
    """The question side of retrieval (``embed.query_engine``): the same model and vectors as
    :class:`SentenceTransformerEmbedder` in float32 (max difference ~2e-7), computed by
    :mod:`rag.bert` without importing torch or sentence-transformers, which is most of a cold
    ``akhbar ask``. Batches of 4 length-sorted texts pad least: a question's ~30 evidence
    sentences take ~0.5 s, as with torch; long passages are several times slower than torch,
    so ingest does not use it."""

    def __init__(self, path: Path, name: str | None = None, batch_size: int = 4) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        self.batch_size = batch_size
        self._encoder: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    from rag.bert import BertEncoder

                    self._encoder = BertEncoder(self.path, batch_size=self.batch_size)
        return self._encoder

    @property
    def dim(self) -> int:
        return int(self._load().dim)

    def _encode(self, texts: Sequence[str], prompt_name: str) -> list[list[float]]:
        arr = self._load().encode([normalize_for_embedding(t) for t in texts], prompt_name)
        return [list(map(float, v)) for v in arr]

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return self._encode(texts, "passage") if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query")[0]

    def count_tokens(self, text: str) -> int:
        return len(self._load().token_ids(normalize_for_embedding(text), "passage", truncate=False))


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
