"""The eval harness: metrics, a bad file, and the news question sets and their scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import ConfigError
from rag import eval as ev


def test_normalisation_and_scores() -> None:
    assert ev.normalize_answer("إلى الأَبَد، يا أمَّة! [1]") == ev.normalize_answer("الى الابد يا امه")
    assert ev.exact_match("The Eiffel Tower.", "eiffel tower")
    assert ev.f1_score("منذ يناير 2017 [1].", "يناير 2017") == pytest.approx(0.8)
    assert ev.contains("عقد 22 اجتماعا بهذا الشكل [1]", "22 اجتماعًا")
    assert not ev.contains("عقد 122 اجتماعا", "22")


def test_bad_file(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text("{}")
    with pytest.raises(ConfigError, match="SQuAD"):
        ev.load_squad(f)


def test_news_question_sets_load_and_are_scored_per_language() -> None:
    from tests.conftest import REPO

    qs = ev.load_qa(REPO / "bench" / "newsqa" / "ar.jsonl") + ev.load_qa(REPO / "bench" / "newsqa" / "en.jsonl")
    assert len(qs) >= 150 and {q.language for q in qs} == {"ar", "en"}
    assert {q.split for q in qs} == {"calibration", "report"} and sum(not q.answerable for q in qs) >= 30
    rows = [{"answerable": True, "refused": False, "contained": True, "retrieved_rank": 1, "evidence_has_gold": True,
             "f1": 1.0, "em": True, "cited": 1, "cited_gold": 1, "first_token_s": 2.0, "seconds": 3.0,
             "refusal_reason": "", "language": "ar", "kind": "answer", "confidence": 0.9, "span_right": True,
             "passages_gold": False},
            {"answerable": True, "refused": False, "contained": False, "retrieved_rank": 7,
             "evidence_has_gold": False, "f1": 0.0, "em": False, "cited": 1, "cited_gold": 0, "first_token_s": 4.0,
             "seconds": 5.0, "refusal_reason": "", "language": "ar", "kind": "answer", "confidence": 0.6,
             "span_right": False, "passages_gold": False},
            {"answerable": False, "refused": True, "contained": False, "retrieved_rank": 0,
             "evidence_has_gold": False, "f1": 0.0, "em": False, "cited": 0, "cited_gold": 0, "first_token_s": 1.0,
             "seconds": 1.0, "refusal_reason": "floor", "language": "ar", "kind": "refusal", "confidence": None,
             "span_right": False, "passages_gold": False}]
    s = ev.qa_scores(rows)
    assert (s["gold_contained"], s["answered_wrong"]) == (0.5, 0.5)
    assert (s["refused_unanswerable"], s["cited_gold"]) == (1.0, 0.5)
    assert s["recall@5"] == 0.5 and s["refused_by"] == {"floor": 1}
    t = s["trust"]
    assert (t["short_answers"], t["short_answer_precision"], t["coverage"], t["useful"]) == (2, 0.5, 1.0, 0.5)
    assert t["unanswerable_short"] == 0.0 and t["scored"] == 2
    assert abs(t["ece"] - (0.5 * 0.1 + 0.5 * 0.6)) < 1e-9  # two bins: 0.9 said, 1 right; 0.6 said, 0 right
