"""Training the reader: transformers loads the packaged GGUF (dequantised to bfloat16 where
the CPU multiplies it natively, else float32), peft puts a LoRA on the attention
projections, and a plain seeded loop trains on the answer tokens only, measuring a
held-out answer loss before and after.

torch, transformers and peft are imported inside the functions that need them, so the
rest of the package loads without them. Building the examples is ``rag.teach.data``'s;
writing the adapter ``rag.teach.export``'s.
"""

from __future__ import annotations

import copy
import math
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.prompts import Prompts
from rag.teach.data import Example, TrainError, chat_parts

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass
class TrainResult:
    """A training run's figures, for the model card and the losses file."""

    steps: int
    tokens: int
    seconds: float
    losses: list[float] = field(default_factory=list)  # mean answer-token loss per optimiser step
    held_before: float = math.nan
    held_after: float = math.nan
    held_accuracy_before: float = math.nan  # greedy next-token accuracy on held-out answers
    held_accuracy_after: float = math.nan
    settings: dict[str, Any] = field(default_factory=dict)


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX): there a bfloat16
    matmul is faster than a float32 one; elsewhere torch emulates it, slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def train_dtype(setting: str) -> str:
    """``auto``: bfloat16 base weights where the CPU has native bfloat16, else float32."""
    if setting not in ("auto", "float32", "bfloat16"):
        raise TrainError(f"dtype must be auto, float32 or bfloat16, not {setting!r}")
    if setting == "auto":
        return "bfloat16" if cpu_has_bf16() else "float32"
    return setting


def load_base(gguf_path: Path, dtype: str = "float32") -> tuple[Any, Any]:
    """transformers' model and tokenizer from the packaged GGUF, weights dequantised to
    ``dtype`` (the LoRA matrices peft adds stay float32 either way)."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF conversion bar floods a log
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name,
                                                     dtype=getattr(torch, dtype))
    except Exception as e:
        raise TrainError(f"transformers cannot load {gguf_path}: {e}") from e
    return model, tokenizer


def _encode(tokenizer: Any, prompt: str, reply: str, max_tokens: int) -> tuple[list[int], int]:
    """The token ids of prompt + reply, and how many at the end are the reply's."""
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    r = tokenizer(reply, add_special_tokens=False)["input_ids"]
    p = p[-(max_tokens - len(r)):] if len(p) + len(r) > max_tokens else p
    return p + r, len(r)


def _reply_logits(model: Any, ids: list[int], n_reply: int) -> tuple[Any, Any]:
    """Logits at the positions that predict the reply, and the reply's ids. Only those
    positions go through the vocabulary-wide output layer, a large share of the model's work."""
    import torch

    out = model(input_ids=torch.tensor([ids]), logits_to_keep=n_reply + 1)
    return out.logits[0, :-1].float(), torch.tensor(ids[-n_reply:])


def _held_loss(model: Any, batches: Sequence[tuple[list[int], int]]) -> tuple[float, float]:
    import torch

    if not batches:
        return math.nan, math.nan
    total, n, right = 0.0, 0, 0
    model.eval()
    with torch.no_grad():
        for ids, n_reply in batches:
            logits, gold = _reply_logits(model, ids, n_reply)
            total += float(torch.nn.functional.cross_entropy(logits, gold, reduction="sum"))
            n += n_reply
            right += int((logits.argmax(-1) == gold).sum())
    model.train()
    return total / max(n, 1), right / max(n, 1)


def train(examples: Sequence[Example], held: Sequence[Example], base_gguf: Path, prompts: Prompts, *,
          rank: int = 16, alpha: int = 32, lr: float = 2e-4, epochs: float = 1.0, accumulate: int = 8,
          max_tokens: int = 512, seed: int = 0, threads: int = 0, dtype: str = "float32",
          loaded: tuple[Any, Any] | None = None, log: Callable[[str], None] = print) -> tuple[Any, TrainResult]:
    """A seeded LoRA run on the answer tokens; returns the peft model and the figures.
    ``loaded``: ``load_base``'s (model, tokenizer) for ``base_gguf``, trained on a copy
    (the original stays as it was), for runs that share one load."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.set_num_threads(threads or os.cpu_count() or 1)
    t0 = time.perf_counter()
    if loaded is not None:
        model, tokenizer = copy.deepcopy(loaded[0]), loaded[1]
    else:
        model, tokenizer = load_base(base_gguf, dtype)
        log(f"train-reader: base model loaded in {time.perf_counter() - t0:.0f}s")
    # Seeded after the load, so a run on a shared load starts where a fresh one does.
    torch.manual_seed(seed)
    random.seed(seed)
    model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=list(TARGETS),
                                             task_type="CAUSAL_LM", bias="none"))
    encoded = [_encode(tokenizer, *chat_parts(e, prompts), max_tokens) for e in examples]
    held_enc = [_encode(tokenizer, *chat_parts(e, prompts), max_tokens) for e in held]
    order = list(range(len(encoded)))
    rng = random.Random(seed)
    schedule: list[int] = []
    full, part = int(epochs), epochs - int(epochs)
    for _ in range(full):
        rng.shuffle(order)
        schedule += order
    if part > 0:
        rng.shuffle(order)
        schedule += order[: round(part * len(order))]
    steps = max(1, math.ceil(len(schedule) / accumulate))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 10)

    def rate(s: int) -> float:  # linear warm-up, then linear decay to 5%
        return min(1.0, (s + 1) / warmup) * max(0.05, 1 - max(0, s + 1 - warmup) / max(1, steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    result = TrainResult(steps=steps, tokens=0, seconds=0.0, settings={
        "rank": rank, "alpha": alpha, "lr": lr, "epochs": epochs, "accumulate": accumulate, "seed": seed,
        "targets": list(TARGETS), "max_tokens": max_tokens, "train_examples": len(examples),
        "held_examples": len(held), "threads": torch.get_num_threads(), "dtype": dtype})
    result.held_before, result.held_accuracy_before = _held_loss(model, held_enc)
    log(f"train-reader: held-out answer loss before {result.held_before:.3f} "
        f"(token accuracy {result.held_accuracy_before:.3f}); {steps} steps of {accumulate}")
    model.train()
    t_train = time.perf_counter()
    for step in range(steps):
        chunk = schedule[step * accumulate:(step + 1) * accumulate]
        answer_tokens = sum(encoded[i][1] for i in chunk)
        step_loss = 0.0
        for i in chunk:
            ids, n_reply = encoded[i]
            logits, gold = _reply_logits(model, ids, n_reply)
            # Summed over the step's answer tokens, so a long answer weighs what its tokens weigh.
            loss = torch.nn.functional.cross_entropy(logits, gold, reduction="sum") / answer_tokens
            loss.backward()
            step_loss += float(loss.detach())
            result.tokens += len(ids)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        result.losses.append(step_loss)
        elapsed = time.perf_counter() - t_train
        if step % 5 == 0 or step == steps - 1:
            log(f"train-reader: step {step + 1}/{steps} loss {step_loss:.3f} "
                f"({result.tokens / elapsed:.0f} tokens/s, {elapsed / 60:.1f} min)")
    result.seconds = time.perf_counter() - t_train
    result.held_after, result.held_accuracy_after = _held_loss(model, held_enc)
    log(f"train-reader: held-out answer loss after {result.held_after:.3f} "
        f"(token accuracy {result.held_accuracy_after:.3f})")
    return model, result
