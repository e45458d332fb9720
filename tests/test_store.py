from pathlib import Path

import pytest

from rag import StoreError
from rag.embedder import SentenceTransformerEmbedder
from rag.store import ChromaStore
from rag.types import Chunk


def _chunk(i: int, doc: str, text: str) -> Chunk:
    return Chunk(chunk_id=f"{doc}-{i}", doc_id=doc, text=text, index=i, start=0, end=len(text),
                 title="T", source_path=f"/{doc}.txt", content_hash="h" * 64)


def test_add_query_delete_with_our_embeddings(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    store = ChromaStore(tmp_path / "c", "test", embed_model="multilingual-e5-small")
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


def test_collection_refuses_another_embedding_model(tmp_path: Path) -> None:
    ChromaStore(tmp_path / "c", "news", embed_model="multilingual-e5-small")
    with pytest.raises(StoreError, match="built with embedding model"):
        ChromaStore(tmp_path / "c", "news", embed_model="bge-m3")
