"""Teaching the reader: the training set, a LoRA run on the packaged GGUF, and the adapter
written as a llama.cpp GGUF LoRA.

``akhbar train-reader`` (``make train-reader``) runs it end to end through ``run``:

1. **Records** (``rag.teach.data``: ``arcd_records``, ``newsqa_records``, ``cloze_records``):
   question-answer pairs we may train on. ARCD's train split (Arabic Wikipedia, MIT), our
   own questions over SaudiNewsNet days that are not the news development set
   (``reader/data/*.jsonl``, checked by ``bench/newsqa/check.py --train``), and
   self-supervised cloze questions over those days: a sentence's number or date is the
   answer and the rest of its clause the question. Never XQuAD, never the news
   development days, nor a re-run of their stories.
2. **Examples** (``rag.teach.data.build_examples``): each record goes through the run-time
   evidence selection (``Responder.select_sources``, clause-sized pieces, the same budget),
   so the model is taught on exactly the prompt it reads at run time: the reader
   instruction, the evidence lines and the question, answered by the verbatim span as the
   evidence spells it, or by the refusal word for questions the article does not answer.
   An answerable record whose answer selection missed is left out. A share of answerable
   records is also shown with every sentence holding the answer withheld, so the refusal
   is taught on the near-misses that cause invented answers.
3. **Training** (``rag.teach.train``): transformers loads the GGUF (dequantised to bfloat16
   where the CPU multiplies it natively, else float32), peft puts a LoRA on the attention
   projections, and a plain seeded loop trains on the answer tokens only. The loss curve
   and a held-out loss before and after go to the model card.
4. **Export** (``rag.teach.export``): the LoRA matrices as a GGUF adapter
   (``general.type = adapter``) with the base model's sha256 recorded, which llama.cpp
   (``lora_path``) and Ollama (``ADAPTER``) load, and its model card.

torch, transformers and peft are imported inside the functions that need them. This
package does not evaluate the taught reader; ``rag.eval`` does, with ``llm.adapter``
turned on or off.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.config import Config
from rag.models import AdapterInfo, adapter_info
from rag.models_e5 import sha256_file
from rag.prompts import Prompts
from rag.teach.data import (
    CLOZE_DATE,
    HELD_DAYS,
    MAX_ANSWER_WORDS,
    Example,
    Record,
    TrainError,
    arcd_records,
    build_examples,
    chat_parts,
    clean_arcd_question,
    cloze_question,
    cloze_records,
    describe,
    newsqa_records,
    split_examples,
    withhold,
)
from rag.teach.export import lora_tensors, model_card, write_adapter
from rag.teach.train import TARGETS, TrainResult, cpu_has_bf16, load_base, train, train_dtype

REPO = Path(__file__).resolve().parent.parent.parent
DATA_DIR = REPO / "reader" / "data"
ADAPTER_PATH = REPO / "reader" / "akhbar-reader.gguf"
ARCD_PATH = REPO.parent / "shared" / "eval" / "arcd" / "arcd-train.json"
SAUDINEWS_DIR = REPO.parent / "shared" / "eval" / "saudinews"

__all__ = [
    "ADAPTER_PATH", "ARCD_PATH", "CLOZE_DATE", "DATA_DIR", "HELD_DAYS", "MAX_ANSWER_WORDS", "REPO",
    "SAUDINEWS_DIR", "TARGETS", "Example", "Record", "TrainError", "TrainResult", "arcd_records",
    "build_examples", "chat_parts", "clean_arcd_question", "cloze_days", "cloze_question", "cloze_records",
    "cpu_has_bf16", "describe", "load_base", "lora_tensors", "model_card", "newsqa_records", "records", "run",
    "split_examples", "train", "train_dtype", "training_embedder", "withhold", "write_adapter",
]


def training_embedder(config: Config) -> Any:
    """The embedder that chooses the training examples' evidence: the configured model in
    float32 on every CPU, not ``embed.precision``, whose "auto" is bfloat16 where the CPU has
    it, so that the same command builds the same training set on any machine (bfloat16
    similarities can choose other evidence)."""
    from rag.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(config.embed_model_path, batch_size=config.embed.batch_size,
                                       name=config.embed.model, precision="float32")


def cloze_days(corpus_dir: Path) -> list[str]:
    """The SaudiNewsNet days cloze examples may come from: every one but the development days."""
    return sorted(p.stem for p in Path(corpus_dir).glob("*.zip") if p.stem not in HELD_DAYS)


def records(data_files: Sequence[Path], corpus_dir: Path, arcd: Path | None, arcd_limit: int = 0,
            seed: int = 0, cloze: int = 0) -> list[Record]:
    """Our news records, ``cloze`` cloze records, then ARCD's (a seeded sample of
    ``arcd_limit`` when given)."""
    out = newsqa_records(data_files, corpus_dir, seed) if data_files else []
    if cloze:
        out += cloze_records(corpus_dir, cloze_days(corpus_dir), cloze, seed)
    if arcd is not None:
        more = arcd_records(arcd)
        if arcd_limit and len(more) > arcd_limit:
            more = random.Random(seed).sample(more, arcd_limit)
        out += more
    if not out:
        raise TrainError("no training records: give reader/data/*.jsonl and/or ARCD")
    return out


def run(config: Config, out: Path, *, data_files: Sequence[Path], corpus_dir: Path, arcd: Path | None,
        arcd_limit: int = 0, cloze: int = 0, withhold_share: float = 0.05, epochs: float = 1.0, limit: int = 0,
        held_share: float = 0.1, rank: int = 16,
        alpha: int = 32, lr: float = 2e-4, accumulate: int = 8, seed: int = 0, base: Path | None = None,
        examples_only: bool = False, dtype: str = "auto", log: Callable[[str], None] = print) -> AdapterInfo | None:
    """Build the examples, train, write the adapter, its card and the examples it saw
    (``examples_only``: stop after writing the examples)."""
    from rag.llm import LlamaCppLLM

    base_path = Path(base) if base else config.llm_model_path
    if not base_path.is_file():
        raise TrainError(f"base model not found at {base_path}; run `akhbar models prepare`")
    t0 = time.perf_counter()
    recs = records(data_files, corpus_dir, arcd, arcd_limit, seed, cloze)
    if limit:  # a small run (the test suite's): a seeded sample of the records
        recs = random.Random(seed).sample(recs, min(limit, len(recs)))
    embedder = training_embedder(config)
    counter = LlamaCppLLM(base_path, config)
    examples = build_examples(config, recs, embedder, counter.count_tokens, withhold_share=withhold_share, seed=seed)
    train_set, held = split_examples(examples, held_share, seed)
    if not train_set:
        raise TrainError("no training examples after evidence selection")
    log(f"train-reader: {len(train_set)} training and {len(held)} held-out examples from {len(recs)} records "
        f"in {time.perf_counter() - t0:.0f}s: {json.dumps(describe(train_set), ensure_ascii=False)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".examples.jsonl"), "w", encoding="utf-8") as fh:
        for e in train_set:
            fh.write(json.dumps({**e.to_dict(), "held_out": False}, ensure_ascii=False) + "\n")
        for e in held:
            fh.write(json.dumps({**e.to_dict(), "held_out": True}, ensure_ascii=False) + "\n")
    tokens = [counter.count_tokens("".join(chat_parts(e, Prompts(config.prompts_dir)))) for e in train_set]
    log(f"train-reader: {sum(tokens)} training tokens (mean {sum(tokens) / len(tokens):.0f}); "
        f"examples in {out.with_suffix('.examples.jsonl')}")
    if examples_only:
        return None
    prompts = Prompts(config.prompts_dir)
    model, result = train(train_set, held, base_path, prompts, rank=rank, alpha=alpha, lr=lr, epochs=epochs,
                          accumulate=accumulate, seed=seed, threads=config.llm.threads,
                          dtype=train_dtype(dtype), log=log)
    base_sha = sha256_file(base_path)
    write_adapter(lora_tensors(model), out, alpha, base_sha,
                  meta={"train": json.dumps(result.settings), "steps": str(result.steps),
                        "held_loss": f"{result.held_before:.4f} -> {result.held_after:.4f}"})
    info = adapter_info(out)
    card = model_card(result, describe(train_set), describe(held), info, base_path.name)
    out.with_suffix(".md").write_text(card, encoding="utf-8")
    (out.with_suffix(".losses.json")).write_text(json.dumps(
        {"losses": result.losses, "held_before": result.held_before, "held_after": result.held_after,
         "held_accuracy_before": result.held_accuracy_before, "held_accuracy_after": result.held_accuracy_after,
         "settings": result.settings, "seconds": result.seconds, "tokens": result.tokens}, indent=1),
        encoding="utf-8")
    log(f"train-reader: adapter {out} ({info.size_bytes / 1e6:.1f} MB) in {(time.perf_counter() - t0) / 60:.1f} min")
    return info
