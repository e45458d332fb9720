"""The eval harness on real XQuAD-ar data: a retrieval-only run and a few answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import Config
from rag import eval as ev
from rag.embedder import SentenceTransformerEmbedder
from rag.types import REFUSAL_REASONS
from tests.conftest import SHARED

XQUAD_AR = SHARED / "eval" / "xquad" / "xquad.ar.json"


def _subset(tmp_path: Path, n_articles: int) -> Path:
    data = json.loads(XQUAD_AR.read_text(encoding="utf-8"))
    data["data"] = data["data"][:n_articles]
    out = tmp_path / "sub.json"
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return out


@pytest.mark.store
@pytest.mark.skipif(not XQUAD_AR.exists(), reason="../shared/eval/xquad is not present beside the repo")
def test_retrieval_only_on_xquad_subset(tmp_path: Path, prepared_config: Config,
                                        embedder: SentenceTransformerEmbedder) -> None:
    result = ev.run(prepared_config, _subset(tmp_path, 8), limit=80, seed=1, holdout=0.1, retrieval_only=True,
                    embedder=embedder)
    assert result["held_out_paragraphs"] >= 1 and result["answerable"] > 50
    for mode in ("dense", "bm25", "hybrid"):
        r = result["retrieval"][mode]
        assert 0 <= r["recall@1"] <= r["recall@5"] <= r["recall@10"] <= 1
    assert result["retrieval"]["hybrid"]["recall@5"] >= 0.9
    table = ev.format_table(result)
    assert "hybrid" in table and "recall@5" in table


@pytest.mark.store
@pytest.mark.slow
@pytest.mark.skipif(not XQUAD_AR.exists(), reason="../shared/eval/xquad is not present beside the repo")
def test_answer_eval_on_a_few_xquad_questions(tmp_path: Path, prepared_config: Config,
                                              embedder: SentenceTransformerEmbedder, llm_15b: object) -> None:
    result = ev.run(prepared_config, _subset(tmp_path, 1), limit=6, seed=3, holdout=0.5, modes=("hybrid",),
                    embedder=embedder, llm=llm_15b)
    rows, a = result["rows"], result["answers"]
    assert len(rows) == 6 and result["unanswerable"] >= 1 and result["answerable"] >= 1
    for r in rows:
        assert r["refused_by"] in (REFUSAL_REASONS if r["refused"] else ("",))
        assert 0 <= r["f1"] <= 1 and r["sources"] is not None
        # A refusal by the retrieval floor never reached the model.
        if r["refused_by"] == "floor":
            assert r["prompt_tokens"] == 0
    refusals = sum(r["refused"] for r in rows)
    assert sum(a["refused_by_answerable"].values()) + sum(a["refused_by_unanswerable"].values()) == refusals
    table = ev.format_table(result)
    assert "refused by" in table and "gold contained" in table
