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


SAUDINEWS_DAY = SHARED / "eval" / "saudinews" / "2015-08-04.zip"
NEWS_QA = Path(__file__).resolve().parents[2] / "bench" / "newsqa" / "ar.jsonl"


@pytest.mark.store
@pytest.mark.slow
@pytest.mark.skipif(not SAUDINEWS_DAY.exists(), reason="../shared/eval/saudinews is not present beside the repo")
def test_news_eval_asks_unanswerable_twins_with_the_gold_article_left_out(
        tmp_path: Path, prepared_config: Config, embedder: SentenceTransformerEmbedder, llm_15b: object) -> None:
    """``--twins``: the question asked again without its article is an unanswerable near miss,
    scored apart; the article is out of its evidence and the store keeps it."""
    import zipfile

    q = next(json.loads(line) for line in NEWS_QA.read_text(encoding="utf-8").splitlines()
             if json.loads(line)["id"] == "ar-003")  # 426 ألف كيلوجرام, in an aleqt article of 2015-08-04
    articles = json.loads(zipfile.ZipFile(SAUDINEWS_DAY).read("2015-08-04.json"))
    gold = next(a for a in articles if a["url"] == q["url"])
    others = [a for a in articles if a["url"] != q["url"] and "غذائي" in a["content"]][:3]
    corpus = tmp_path / "day.json"
    corpus.write_text(json.dumps([gold, *others], ensure_ascii=False), encoding="utf-8")
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps(q | {"split": "calibration"}, ensure_ascii=False) + "\n", encoding="utf-8")
    result = ev.run_qa(prepared_config, [qa], [str(corpus)], split="calibration", home=tmp_path / "home",
                       embedder=embedder, llm=llm_15b, twins=True)
    [row] = result["rows"]
    assert row["answerable"] and row["evidence_has_gold"], row
    assert result["twins"]["asked"] == 1 and result["twins"]["kept"] == 1
    [twin] = result["twin_rows"]
    assert twin["id"] == "ar-003~twin" and not twin["answerable"] and len(twin["left_out"]) == 1
    assert "426" not in twin["reply"] and not twin["span_right"] and not twin["passages_gold"]
    assert "twins" in ev.format_qa_table(result)
    # The article was only left out of retrieval, not removed.
    from rag import Akhbar

    bot = Akhbar(prepared_config.with_overrides(home=tmp_path / "home"), embedder=embedder, llm=llm_15b)
    assert twin["left_out"][0] in {d.doc_id for d in bot.documents()}
