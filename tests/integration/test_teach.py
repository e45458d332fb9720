"""Teaching the reader (rag.teach) with the real models: the training set is chosen with
float32 vectors; the packaged adapter loads on its base and reads spans but never writes the
free answers; a tiny training run goes end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.config import PACKAGED_ADAPTER, Config
from rag.llm import GenerationStats
from rag.models import adapter_info, known_sha256
from rag.prompts import Prompts, chatml
from rag.teach import training_embedder
from tests.conftest import REPO
from tests.support.eval_data import needs_shared


def test_the_training_set_is_chosen_with_float32_vectors_whatever_the_config(prepared_config: Config) -> None:
    # "auto" is bfloat16 where the CPU has it: another machine would build another training
    # set from the same command.
    for precision in ("auto", "bfloat16", "float32"):
        config = prepared_config.with_overrides(embed={"precision": precision})
        embedder = training_embedder(config)
        assert embedder.precision == "float32", precision
        assert embedder.path == config.embed_model_path


@pytest.mark.models
@pytest.mark.skipif(not PACKAGED_ADAPTER.exists(), reason="no packaged adapter yet (make train-reader)")
def test_the_packaged_adapter_loads_on_its_base_and_changes_the_reply(prepared_config: Config) -> None:
    from llama_cpp import Llama

    info = adapter_info(PACKAGED_ADAPTER)
    assert info.base_sha256 == known_sha256(prepared_config.llm_model_path)
    assert info.size_bytes < 50_000_000
    prompt = chatml(Prompts(prepared_config.prompts_dir).reader_messages(
        "ar", "وبلغ عدد الطلاب المقبولين 450 طالبا من أصل 900 متقدم.", "كم عدد الطلاب المقبولين؟"))
    logits = []
    for lora in (None, str(PACKAGED_ADAPTER)):
        llm = Llama(model_path=str(prepared_config.llm_model_path), n_ctx=512, verbose=False, lora_path=lora)
        llm.eval(llm.tokenize(prompt.encode(), add_bos=False, special=True))
        logits.append(np.array(llm._ctx.get_logits()[:llm.n_vocab()], dtype=np.float64))
    assert np.abs(logits[0] - logits[1]).max() > 0.5
    # The configured reader loads it too, and says so in its name.
    from rag.llm import LlamaCppLLM

    reader = LlamaCppLLM(prepared_config.llm_model_path, prepared_config.with_overrides(llm={"adapter": "auto"}))
    assert reader.adapter == PACKAGED_ADAPTER and reader.model.endswith("+akhbar-reader")
    out = reader.copy_span(Prompts(prepared_config.prompts_dir).reader_messages(
        "ar", "وبلغ عدد الطلاب المقبولين 450 طالبا من أصل 900 متقدم.", "كم عدد الطلاب المقبولين؟"),
        "وبلغ عدد الطلاب المقبولين 450 طالبا من أصل 900 متقدم.", GenerationStats())
    assert "450" in out.text


@pytest.mark.models
def test_the_adapter_reads_spans_but_never_writes_the_free_answers(prepared_config: Config) -> None:
    """It was taught to copy a span, not to write: a free answer from the reader with the
    adapter is the untaught model's answer, token for token, and copying after a free answer
    reads with the adapter again."""
    from rag.llm import LlamaCppLLM

    prompts = Prompts(prepared_config.prompts_dir)
    evidence = "وبلغ عدد الطلاب المقبولين 450 طالبا من أصل 900 متقدم."
    span_prompt = prompts.reader_messages("ar", evidence, "كم عدد الطلاب المتقدمين؟")
    # Unanswerable: the taught model writes "لا يوجد" here, the untaught one a phrase.
    free_prompt = prompts.reader_messages("ar", evidence, "من هو مدير الجامعة؟")
    cfg = prepared_config.with_overrides(llm={"max_tokens": 24, "temperature": 0.0})
    taught = LlamaCppLLM(cfg.llm_model_path, cfg.with_overrides(llm={"adapter": "auto"}))
    plain = LlamaCppLLM(cfg.llm_model_path, cfg.with_overrides(llm={"adapter": "off"}))
    assert taught.adapter is not None and plain.adapter is None

    def none_logprob(reader: LlamaCppLLM) -> float:
        return reader.copy_span(span_prompt, evidence, GenerationStats(), none_text="لا يوجد").none_logprob

    before = none_logprob(taught)
    free = ["".join(r.stream_chat(free_prompt, GenerationStats())) for r in (taught, plain)]
    after = none_logprob(taught)
    assert free[0] and free[0] == free[1]
    assert after == pytest.approx(before, abs=1e-3)
    assert abs(after - none_logprob(plain)) > 0.1


@pytest.mark.slow
@pytest.mark.models
@needs_shared
def test_a_tiny_training_run_writes_an_adapter_that_llama_cpp_loads(prepared_config: Config,
                                                                    tmp_path: Path) -> None:
    """A few steps on a handful of examples, on the 0.5B model: the whole command, from the
    training set to a GGUF adapter, its card, and llama.cpp reading it."""
    small = prepared_config.models_dir / "qwen2.5-0.5b-q4_k_m.gguf"
    out = tmp_path / "tiny.gguf"
    env = {**os.environ, "AKHBAR_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "rag.cli", "train-reader", "--base", str(small), "--limit", "6", "--accumulate", "2",
         "--lr", "1e-3", "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    info = adapter_info(out)
    assert info.base_sha256 == known_sha256(small) and info.rank == 16 and info.tensors == 4 * 2 * 24
    card = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "held-out answer loss" in card and "| step |" in card
    losses = json.loads(out.with_suffix(".losses.json").read_text())
    assert losses["losses"] and all(np.isfinite(losses["losses"]))
    examples = [json.loads(line) for line in out.with_suffix(".examples.jsonl").read_text().splitlines()]
    assert examples and all(e["target"] in e["evidence"] or not e["answerable"] for e in examples)

    from llama_cpp import Llama

    prompt = chatml(Prompts(prepared_config.prompts_dir).reader_messages("ar", "النص", "من؟"))
    logits = []
    for lora in (None, str(out)):
        llm = Llama(model_path=str(small), n_ctx=256, verbose=False, lora_path=lora)
        llm.eval(llm.tokenize(prompt.encode(), add_bos=False, special=True))
        logits.append(np.array(llm._ctx.get_logits()[:llm.n_vocab()], dtype=np.float64))
    assert np.abs(logits[0] - logits[1]).max() > 1e-3
