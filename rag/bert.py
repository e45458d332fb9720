"""A BERT encoder forward pass in NumPy, for the question side of retrieval.

Answering a question embeds a handful of short texts (the question, a few dozen evidence
sentences). Doing that through sentence-transformers costs a cold ``akhbar ask`` ~10 s before
the first vector: importing it pulls in torch, transformers, scikit-learn and SciPy. This
module computes the same vectors from the same local folder with NumPy and the ``tokenizers``
library alone (a fraction of a second to import), reading the weights by memory map, so only
the rows of the vocabulary a text uses are ever read from disk.

It implements exactly what the packaged mE5 (and any sentence-transformers folder of the same
shape) does: a post-LayerNorm BERT (absolute positions, one token type, exact-erf GELU), mean
pooling over the tokens the prompt included, then L2 normalisation. :func:`supports` says
whether a folder is that shape; anything else goes to sentence-transformers.

It deliberately does not train, batch large corpora fast, or run other architectures:
bulk passage embedding at ingest stays on sentence-transformers, which is several times
faster on long passages (and faster again in bfloat16 where the CPU has it).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rag.errors import ModelError

_DTYPES = {"F32": "<f4", "F16": "<f2"}


def _json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_config(path: Path) -> dict[str, Any] | None:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or any(k not in ("Transformer", "Pooling", "Normalize")
                                                          for k in kinds):
            return None
        pooling = json.loads((path / str(modules[1].get("path", "1_Pooling")) / "config.json").read_text(
            encoding="utf-8"))
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    transformer = _json(path / "sentence_bert_config.json")
    if transformer.get("do_lower_case"):
        return None
    # The length sentence-transformers truncates to: its own setting, else the tokenizer's.
    lengths = [int(v) for v in (transformer.get("max_seq_length"),
                                _json(path / "tokenizer_config.json").get("model_max_length"),
                                config.get("max_position_embeddings", 512))
               if isinstance(v, int) and 0 < v <= 100_000]
    config["_max_tokens"] = min(lengths) if lengths else 512
    mean = pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens") is True
    if not (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu" and mean
            and config.get("position_embedding_type", "absolute") == "absolute"
            and pooling.get("include_prompt", True)
            and (path / "model.safetensors").exists() and (path / "tokenizer.json").exists()):
        return None
    config["_normalize"] = "Normalize" in kinds
    return config


def supports(path: Path) -> bool:
    """True when ``path`` is a sentence-transformers folder this module computes exactly."""
    return _read_config(Path(path)) is not None


def _tensors(file: Path) -> dict[str, Any]:
    """Every tensor of a safetensors file, as read-only NumPy views of one memory map."""
    import numpy as np

    with open(file, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    data = np.memmap(file, dtype=np.uint8, mode="r", offset=8 + size)
    out: dict[str, Any] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ModelError(f"{file}: tensor {name} is {info['dtype']}, which this encoder does not read")
        start, end = info["data_offsets"]
        out[name] = data[start:end].view(_DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def _gelu(h: Any) -> None:
    """Exact (erf) GELU, in place. erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below
    float32's resolution here): SciPy's erf is ~30x slower than these vectorised passes."""
    import numpy as np

    # Capped at 5: 1 - erf(5) < 2e-12, and exp(-a*a) of larger a is subnormal in float32,
    # where every operation is ~20x slower.
    a = np.minimum(np.abs(h) * np.float32(0.7071067811865476), np.float32(5.0))
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    poly = np.float32(1.061405429) * t
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    a *= a
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # 1 - erf(|h|/sqrt 2)
    # 0.5 * (1 + erf(h/sqrt 2)) is 1 - poly/2 for h >= 0 and poly/2 for h < 0, i.e.
    # 0.5 + copysign(0.5 - poly/2, h) (np.where is ~10x slower than these passes).
    poly *= np.float32(-0.5)
    poly += np.float32(0.5)
    np.copysign(poly, h, out=poly)
    poly += np.float32(0.5)
    h *= poly


class BertEncoder:
    """Sentence vectors from a local sentence-transformers BERT folder, in float32 NumPy."""

    def __init__(self, path: Path, prompts: dict[str, str] | None = None, batch_size: int = 16) -> None:
        config = _read_config(Path(path))
        if config is None:
            raise ModelError(f"{path} is not a mean-pooled BERT sentence-transformers folder")
        import numpy as np
        from tokenizers import Tokenizer

        self.path = Path(path)
        self.batch_size = batch_size
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.layers = int(config["num_hidden_layers"])
        self.normalize = bool(config["_normalize"])
        self.max_tokens = int(config["_max_tokens"])
        st = _json(self.path / "config_sentence_transformers.json")
        self.prompts: dict[str, str] = dict(prompts if prompts is not None else st.get("prompts") or {})
        try:
            self.w = _tensors(self.path / "model.safetensors")
            self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        except Exception as e:  # tokenizers raises its own exception types
            raise ModelError(f"cannot load {self.path} for the NumPy encoder: {e}") from e
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        prefix = "" if "embeddings.word_embeddings.weight" in self.w else "bert."
        self._p = prefix
        self.dim = int(self.w[prefix + "embeddings.word_embeddings.weight"].shape[1])
        # Small tensors into RAM as float32 once; the vocabulary stays memory-mapped.
        self._small = {k: np.asarray(v, dtype=np.float32) for k, v in self.w.items()
                       if not k.endswith("word_embeddings.weight")}
        self._layer_cache: dict[int, tuple[Any, ...]] = {}
        self._pool: ThreadPoolExecutor | None = None
        if (os.cpu_count() or 1) > 1:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="akhbar-bert")

    def _t(self, name: str) -> Any:
        return self._small[self._p + name]

    def token_ids(self, text: str, prompt_name: str = "", truncate: bool = True) -> list[int]:
        """The ids the model reads, specials included; ``truncate`` cuts to the model's
        length the way the Hugging Face tokenizer does (keeping the closing special)."""
        ids = list(self.tokenizer.encode(self.prompts.get(prompt_name, "") + text).ids)
        if truncate and len(ids) > self.max_tokens:
            ids = ids[:self.max_tokens - 1] + ids[-1:]
        return ids

    def _layer_norm(self, x: Any, name: str) -> Any:
        import numpy as np

        x = x - x.mean(-1, keepdims=True)
        x /= np.sqrt((x * x).mean(-1, keepdims=True) + np.float32(self.eps))
        x *= self._t(name + ".weight")
        x += self._t(name + ".bias")
        return x

    def _weights(self, i: int) -> tuple[Any, ...]:
        """Layer ``i``'s matrices transposed for ``x @ W`` (2-D BLAS calls are ~2x faster
        than NumPy's stacked matmul), query/key/value fused into one; made once."""
        if i not in self._layer_cache:
            import numpy as np

            p = f"encoder.layer.{i}."
            qkv = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
            self._layer_cache[i] = (
                np.ascontiguousarray(np.concatenate([self._t(n + ".weight") for n in qkv]).T),
                np.concatenate([self._t(n + ".bias") for n in qkv]),
                np.ascontiguousarray(self._t(p + "attention.output.dense.weight").T),
                self._t(p + "attention.output.dense.bias"),
                np.ascontiguousarray(self._t(p + "intermediate.dense.weight").T),
                self._t(p + "intermediate.dense.bias"),
                np.ascontiguousarray(self._t(p + "output.dense.weight").T),
                self._t(p + "output.dense.bias"),
            )
        return self._layer_cache[i]

    def _split(self, work: Any, rows: int) -> None:
        """``work(lo, hi)`` over ``range(rows)`` in two halves on two threads. NumPy runs an
        element-wise pass on one core (its matrix products use every core already), and it
        releases the GIL inside one: GELU and softmax, ~45% of a forward pass, take half
        the time."""
        if self._pool is None or rows < 2:
            work(0, rows)
            return
        half = rows // 2
        for f in [self._pool.submit(work, 0, half), self._pool.submit(work, half, rows)]:
            f.result()

    def _forward(self, batch: list[list[int]]) -> Any:
        import numpy as np

        n, length = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1.0
        words = np.asarray(self.w[self._p + "embeddings.word_embeddings.weight"][ids.ravel()], dtype=np.float32)
        x = (words.reshape(n, length, -1) + self._t("embeddings.position_embeddings.weight")[:length]
             + self._t("embeddings.token_type_embeddings.weight")[0]).reshape(n * length, self.dim)
        x = self._layer_norm(x, "embeddings.LayerNorm")
        hd = self.dim // self.heads
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(hd))
        for i in range(self.layers):
            w_qkv, b_qkv, w_o, b_o, w_in, b_in, w_out, b_out = self._weights(i)
            qkv = (x @ w_qkv + b_qkv).reshape(n, length, 3, self.heads, hd).transpose(2, 0, 3, 1, 4)
            scores = (qkv[0] * scale) @ qkv[1].transpose(0, 1, 3, 2)

            def softmax(lo: int, hi: int, scores: Any = scores) -> None:
                s = scores[lo:hi]
                s += bias[lo:hi]
                s -= s.max(-1, keepdims=True)
                np.exp(s, out=s)
                s /= s.sum(-1, keepdims=True)

            self._split(softmax, n)
            att = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(n * length, self.dim)
            h = att @ w_o
            h += b_o
            h += x
            x = self._layer_norm(h, f"encoder.layer.{i}.attention.output.LayerNorm")
            h = x @ w_in
            h += b_in
            self._split(lambda lo, hi, h=h: _gelu(h[lo:hi]), n * length)
            h = h @ w_out
            h += b_out
            h += x
            x = self._layer_norm(h, f"encoder.layer.{i}.output.LayerNorm")
        x = x.reshape(n, length, self.dim)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        if self.normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)

    def encode(self, texts: Sequence[str], prompt_name: str = "") -> Any:
        """One float32 row per text; batches are length-sorted so little is padded."""
        import numpy as np

        ids = [self.token_ids(t, prompt_name) for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for s in range(0, len(order), self.batch_size):
            chunk = order[s:s + self.batch_size]
            out[chunk] = self._forward([ids[i] for i in chunk])
        return out
