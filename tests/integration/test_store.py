import os
from pathlib import Path

import pytest

from rag import Akhbar, Config, StoreError
from rag.embedder import SentenceTransformerEmbedder
from rag.store import ChromaStore
from rag.types import Chunk


def _chunk(i: int, doc: str, text: str) -> Chunk:
    return Chunk(chunk_id=f"{doc}-{i}", doc_id=doc, text=text, index=i, start=0, end=len(text),
                 title="T", source_path=f"/{doc}.txt", content_hash="h" * 64)


def _store(tmp_path: Path, collection: str, embed_model: str) -> ChromaStore:
    """Embedded, or on the suite's `chroma run` server in the server-mode pass."""
    url = os.environ.get("AKHBAR_CHROMA_URL", "")
    return ChromaStore(tmp_path / "c", collection, embed_model=embed_model, url=url,
                       database=Config(home=tmp_path).chroma_database)


@pytest.mark.store
def test_add_query_delete_with_our_embeddings(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    store = _store(tmp_path, "test", "multilingual-e5-small")
    chunks = [_chunk(0, "a", "الطقس حار في القاهرة اليوم"), _chunk(1, "a", "ارتفعت أسعار النفط"),
              _chunk(0, "b", "Football: the final ended two-nil")]
    store.add(chunks, embedder.embed_passages([c.text for c in chunks]))
    assert store.count() == 3
    hits = store.query(embedder.embed_query("كم سعر النفط؟"), top_k=2)
    assert hits[0].chunk.chunk_id == "a-1"
    assert -1.0 <= hits[1].score <= hits[0].score <= 1.0
    assert hits[0].chunk.title == "T" and hits[0].chunk.source_path == "/a.txt"
    store.delete_doc("a")
    assert store.count() == 1 and set(store.documents()) == {"b"}


@pytest.mark.store
def test_collection_refuses_another_embedding_model(tmp_path: Path) -> None:
    _store(tmp_path, "news", "multilingual-e5-small")
    with pytest.raises(StoreError, match="built with embedding model"):
        _store(tmp_path, "news", "bge-m3")


def test_store_mode_follows_config(bot: Akhbar) -> None:
    """The pass runs where it says: the server-mode pass writes nothing under home/chroma."""
    from tests.conftest import SEEDS

    bot.ingest(SEEDS)
    if os.environ.get("AKHBAR_CHROMA_URL"):
        assert bot.store.url == os.environ["AKHBAR_CHROMA_URL"] and not bot.config.chroma_dir.exists()
        # Another data home on the same server has its own database: nothing shared.
        other = Akhbar(bot.config.with_overrides(home=bot.config.home.parent / "other-home"), embedder=bot.embedder)
        assert other.config.chroma_database != bot.config.chroma_database and other.store.count() == 0
    else:
        assert bot.store.url == "" and bot.config.chroma_dir.exists()
    assert bot.store.count() > 0


@pytest.mark.store
def test_the_chunk_table_filters_as_chroma_does(tmp_path: Path) -> None:
    """A chunk still waiting for its vector is filtered by ``rag.chunks.matches``; one with a
    vector by Chroma. Both must keep the same chunks for every filter the retriever writes."""
    from dataclasses import replace

    from rag.chunks import ChunkTable
    from rag.retrieval import Filters

    base = [_chunk(0, "a", "نص أ"), _chunk(0, "b", "text b"), _chunk(0, "u", "نص بلا تاريخ")]
    chunks = [replace(base[0], date="2015-08-10", site="okaz", language="ar"),
              replace(base[1], date="2015-08-03", site="spa", language="en"),
              replace(base[2], date="", site="", language="")]
    store = _store(tmp_path, "filters", "test-model")
    store.upsert(chunks, [[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    table = ChunkTable(tmp_path / "manifest.sqlite", "filters")
    table.put(chunks)
    ids = [c.chunk_id for c in chunks]
    for filters in (Filters(date_from="2015-08-01"), Filters(date_to="2015-08-05"), Filters(sites=("okaz", "spa")),
                    Filters(languages=("en",)), Filters(exclude=("a",)), Filters(exclude=("a", "b", "zz")),
                    Filters(date_from="2015-08-01", languages=("ar", "en"), exclude=("b",))):
        where = filters.where()
        assert set(store.get_chunks(ids, where)) == set(table.get(ids, where)), filters
    for where in ({"site": {"$nin": ["spa"]}}, {"site": {"$ne": "okaz"}}, {"site": {"$in": ["okaz", ""]}}):
        assert set(store.get_chunks(ids, where)) == set(table.get(ids, where)), where
