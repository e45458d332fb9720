"""The chunk table (rag.chunks): what phase 1 writes and phase 2 reads, and the filter
semantics a chunk without a vector is held to (the same as Chroma's)."""

from pathlib import Path

import pytest

from rag.chunks import ChunkTable, matches
from rag.errors import StoreError
from rag.retrieval import Filters
from rag.store import chunk_meta
from rag.types import Chunk


def _chunk(i: int, doc: str = "d1", date: str = "2015-08-10", site: str = "okaz", lang: str = "ar") -> Chunk:
    return Chunk(chunk_id=f"{doc}-{i:04d}", doc_id=doc, text=f"نص المقطع {i}", index=i, start=i * 10,
                 end=i * 10 + 9, title=f"عنوان {doc}", date=date, site=site, language=lang)


def test_put_keeps_the_embedded_flag_and_pending_comes_in_order(tmp_path: Path) -> None:
    table = ChunkTable(tmp_path / "manifest.sqlite", "c")
    table.put([_chunk(i) for i in range(5)])
    assert table.count() == 5 and table.pending_count() == 5
    assert [c.chunk_id for _, c in table.pending(3)] == ["d1-0000", "d1-0001", "d1-0002"]
    assert [c.chunk_id for _, c in table.pending(2, after=table.pending(1)[0][0])] == ["d1-0001", "d1-0002"]
    table.mark_embedded(["d1-0000", "d1-0001"])
    table.put([_chunk(0), _chunk(1)])  # written again (a re-run): still embedded
    assert table.pending_count() == 3 and table.embedded(["d1-0000", "d1-0003"]) == {"d1-0000"}
    assert table.get(["d1-0004"])["d1-0004"] == _chunk(4)  # the chunk comes back as it went in
    ids, texts = table.all_texts()
    assert ids[0] == "d1-0000" and texts[0] == "عنوان d1\nنص المقطع 0"
    table.delete(["d1-0004"])
    table.delete_doc("d1")
    assert table.count() == 0
    # Another collection in the same file is its own table.
    other = ChunkTable(tmp_path / "manifest.sqlite", "other")
    other.put([_chunk(9, "d2")])
    assert other.count() == 1 and table.count() == 0


@pytest.mark.parametrize("filters, wanted", [
    (Filters(date_from="2015-08-01"), {"a", "b"}),
    (Filters(date_to="2015-08-05"), {"b", "u"}),
    (Filters(date_from="2015-08-01", date_to="2015-08-05"), {"b"}),
    (Filters(sites=("okaz",)), {"a", "u"}),
    (Filters(languages=("en",)), {"b"}),
    (Filters(exclude=("a",)), {"b", "u"}),
    (Filters(sites=("okaz",), languages=("ar",), exclude=("u",)), {"a"}),
])
def test_a_chunk_without_a_vector_obeys_the_same_filters(tmp_path: Path, filters: Filters, wanted: set[str]) -> None:
    chunks = [_chunk(0, "a", "2015-08-10"), _chunk(0, "b", "2015-08-03", "spa", "en"), _chunk(0, "u", "")]
    table = ChunkTable(tmp_path / "m.sqlite", "c")
    table.put(chunks)
    where = filters.where()
    assert where is not None
    got = {c.doc_id for c in table.get([c.chunk_id for c in chunks], where).values()}
    assert got == wanted
    assert {c.doc_id for c in chunks if matches(chunk_meta(c), where)} == wanted


def test_matches_follows_chroma_on_missing_keys_and_refuses_what_it_does_not_know() -> None:
    # Checked against chromadb's EphemeralClient when written; the integration test of the
    # store compares the two on real data.
    meta = {"site": "okaz", "date_num": 20150810}
    # As Chroma 1.x: a missing key matches $ne and $nin, and no other condition.
    assert matches(meta, {"language": {"$nin": ["en"]}}) and matches(meta, {"language": {"$ne": "en"}})
    assert not matches(meta, {"language": {"$in": ["en", "ar"]}}) and not matches(meta, {"x": {"$gt": 0}})
    assert matches(meta, {"$or": [{"site": "spa"}, {"date_num": {"$gt": 20150101}}]})
    assert not matches(meta, {"site": {"$ne": "okaz"}})
    with pytest.raises(StoreError, match="unsupported filter operator"):
        matches(meta, {"site": {"$contains": "ok"}})
