"""Lexical analysis, BM25 persistence, fusion and filters, without a store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import ConfigError
from rag.lexical import BM25Index, analyze, rrf
from rag.retrieval import Filters


def test_arabic_analysis_unifies_and_stems() -> None:
    assert analyze("والاجتماعات") == analyze("الاجتماعات")
    assert analyze("أستانا") == analyze("استانا")
    assert analyze("المدينة") == analyze("المدينه")
    assert analyze("في من على") == []  # stop words
    assert "2017" in analyze("منذ يناير ٢٠١٧") and analyze("The meetings") == analyze("meeting")


def test_bm25_index_persists_and_rebuilds_on_new_generation(tmp_path: Path) -> None:
    calls = []

    def fetch() -> tuple[list[str], list[str]]:
        calls.append(1)
        return ["a", "b", "c"], ["اجتماع أستانا في كازاخستان", "أسعار النفط ترتفع", "Oil prices rise in Asia"]

    idx = BM25Index(tmp_path / "bm25")
    assert idx.search("استانا", 5, 1, fetch)[0][0] == "a"
    assert idx.search("oil price", 5, 1, fetch)[0][0] == "c"
    assert len(calls) == 1
    again = BM25Index(tmp_path / "bm25")  # a new process: loads from disk
    assert again.search("النفط", 5, 1, fetch)[0][0] == "b" and len(calls) == 1
    assert again.search("النفط", 5, 2, fetch) and len(calls) == 2  # stale generation: rebuilt
    assert json.loads((tmp_path / "bm25" / "akhbar.json").read_text())["generation"] == 2


def test_rrf() -> None:
    fused = rrf([["a", "b", "c"], ["c", "a"]])
    assert sorted(fused, key=lambda k: -fused[k]) == ["a", "c", "b"]


def test_filters_validate_and_translate() -> None:
    with pytest.raises(ConfigError, match="date_from"):
        Filters(date_from="last week")
    assert Filters().where() is None
    assert Filters(exclude=("d1", "d2")).where() == {"doc_id": {"$nin": ["d1", "d2"]}}
    assert not Filters(exclude=("d1",)).empty()
    w = Filters(date_from="2024-12-01", sites=("a",)).where()
    assert w == {"$and": [{"date_num": {"$gte": 20241201}}, {"date_num": {"$gt": 0}}, {"site": {"$in": ["a"]}}]}
