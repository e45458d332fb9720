"""The taught reader as files: the LoRA matrices under llama.cpp's tensor names, written as
a GGUF adapter (``general.type = adapter``, the base model's sha256 recorded) that
llama.cpp (``lora_path``) and Ollama (``ADAPTER``) load, and the adapter's model card.

numpy and gguf are imported inside ``write_adapter``. Nothing here trains or evaluates
the adapter; the card's evaluation text is given by the caller.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rag.models import AdapterInfo
from rag.teach.data import TrainError
from rag.teach.train import TARGETS, TrainResult

_GGUF_NAMES = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output"}


def lora_tensors(model: Any) -> dict[str, Any]:
    """peft's LoRA matrices under llama.cpp's adapter tensor names (``blk.N.attn_q.weight.lora_a``).
    peft's A is (rank, in) and B is (out, rank); GGUF reverses the axes, which is the layout
    llama.cpp checks against the base weight."""
    out: dict[str, Any] = {}
    pattern = re.compile(r"layers\.(\d+)\.self_attn\.(\w+)\.lora_([AB])\.(?:default\.)?weight$")
    for name, tensor in model.state_dict().items():
        m = pattern.search(name)
        if not m or m.group(2) not in _GGUF_NAMES:
            continue
        block, proj, which = m.groups()
        out[f"blk.{block}.{_GGUF_NAMES[proj]}.weight.lora_{which.lower()}"] = tensor.detach().float().cpu().numpy()
    if not out:
        raise TrainError("the model has no LoRA matrices on the attention projections")
    return out


def write_adapter(tensors: dict[str, Any], path: Path, alpha: float, base_sha256: str, arch: str = "qwen2",
                  meta: dict[str, str] | None = None) -> Path:
    """A GGUF LoRA adapter (float16 matrices) that llama.cpp and Ollama load on top of
    the base model; written beside and renamed, so a failed write leaves no adapter."""
    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch=arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_name("akhbar-reader")
    writer.add_string("akhbar.base_sha256", base_sha256)
    for key, value in (meta or {}).items():
        writer.add_string(f"akhbar.{key}", value)
    for name in sorted(tensors):
        writer.add_tensor(name, np.ascontiguousarray(tensors[name], dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path


def model_card(result: TrainResult, data: dict[str, Any], held: dict[str, Any], info: AdapterInfo,
               base: str, evaluation: str = "") -> str:
    """The adapter's card: data, settings, steps, loss curve, held-out loss, evaluation."""
    losses = result.losses
    every = max(1, len(losses) // 20)
    curve = "\n".join(f"| {i + 1} | {sum(losses[i:i + every]) / len(losses[i:i + every]):.3f} |"
                      for i in range(0, len(losses), every))
    return "\n".join([
        "# akhbar-reader: a LoRA adapter for the extractive reader",
        "",
        f"- base model: {base} (sha256 {info.base_sha256})",
        f"- adapter: `{Path(info.path).name}`, {info.size_bytes / 1e6:.1f} MB, sha256 {info.sha256}",
        f"- rank {info.rank}, alpha {info.alpha:g}, on {', '.join(TARGETS)}; {info.tensors} tensors (float16)",
        f"- built by `akhbar train-reader` (`make train-reader`) with: `{json.dumps(result.settings)}`",
        "",
        "## Data",
        "",
        "Every example is the reader's run-time prompt: the reader instruction, the evidence lines chosen by",
        "`Responder.select_sources` from the record's article and one distractor article, and the question;",
        "the reply is the answer as the evidence spells it, or the refusal word for a question the article does",
        "not answer or whose answer's sentences were withheld (an answerable record whose answer selection missed",
        "is left out).",
        "Sources: ARCD train (MIT), our questions over SaudiNewsNet days other than the news development",
        "days (`reader/data/`), and cloze questions over those days (`cloze_records`: a sentence's number or",
        "date is the answer, the rest of its clause the question; no article that shares a 12-word run with",
        "a development-day article). No XQuAD, no development-set day.",
        "",
        f"- train: `{json.dumps(data, ensure_ascii=False)}`",
        f"- held out: `{json.dumps(held, ensure_ascii=False)}`",
        "",
        "## Training",
        "",
        f"- {result.steps} optimiser steps, {result.tokens} tokens, {result.seconds / 60:.1f} min "
        f"({result.tokens / max(result.seconds, 1e-9):.0f} tokens/s)",
        f"- held-out answer loss: {result.held_before:.3f} before, {result.held_after:.3f} after; "
        f"answer-token accuracy {result.held_accuracy_before:.3f} → {result.held_accuracy_after:.3f}",
        "",
        "| step | loss (mean over the steps from here) |",
        "|---|---|",
        curve,
        "",
        "## Evaluation",
        "",
        evaluation or "Run `make bench` (reader with and without the adapter).",
        "",
    ])
