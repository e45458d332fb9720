"""Issue 18's reproducibility target. A file of its own, so that pytest-xdist (whole files
per worker) may run it beside test_teach.py's tiny training run; each takes one to two minutes."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import Config
from rag.prompts import Prompts
from rag.teach import Example, load_base, lora_tensors, train


@pytest.mark.slow
@pytest.mark.models
def test_the_same_seeded_run_twice_gives_the_same_adapter(prepared_config: Config) -> None:
    """Issue 18's reproducibility: on one machine a seeded run is bit-for-bit repeatable
    (shuffle, LoRA initialisation and the CPU kernels), so its eval figures are too; a
    second seed gives another adapter, so the comparison can tell."""
    small = prepared_config.models_dir / "qwen2.5-0.5b-q4_k_m.gguf"
    prompts = Prompts(prepared_config.prompts_dir)
    examples = [Example(f"e{i}", "newsqa", "ar", q, "how_many", ev, t, True) for i, (q, ev, t) in enumerate([
        ("كم عدد الطلاب؟", "وبلغ عدد الطلاب 450 طالبا.\nوافتتحت المدرسة في الرياض.", "450 طالبا"),
        ("كم بلغت الخسائر؟", "وبلغت الخسائر 945 مليون ريال.\nوارتفعت الإيرادات 3%.", "945 مليون ريال"),
        ("كم زجاجة ضبطت؟", "وضبط الجمرك 33 ألف زجاجة.\nفي شاحنة فواكه.", "33 ألف زجاجة"),
    ])]

    loaded = load_base(small)  # once (a minute); each run trains a copy

    def run(seed: int) -> dict[str, np.ndarray]:
        model, _ = train(examples, [], small, prompts, accumulate=1, lr=1e-3, seed=seed, threads=2,
                         loaded=loaded, log=lambda _m: None)
        return lora_tensors(model)

    first, again, other = run(0), run(0), run(1)
    assert first.keys() == again.keys() == other.keys()
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert any(not np.array_equal(first[k], other[k]) for k in first)
