"""Vector store adapter: chromadb through llama-index's ``ChromaVectorStore``; the embedded
``PersistentClient`` by default, or ``HttpClient`` to a ``chroma run`` server (``store.url``).

We always hand Chroma our own embeddings, on every add and query: a collection asked to
embed by itself would fetch an ONNX model from the network. The collection records which
embedding model built it and refuses to be queried or extended with another one.

Chunks are llama-index ``TextNode``s whose ``ref_doc_id`` is our document id, so deleting a
document is llama-index's ``delete(ref_doc_id)``. This module knows nothing about files,
prompts or LLMs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode

from rag.errors import StoreError
from rag.types import Chunk, Hit

_CHUNK_FIELDS = ("doc_id", "index", "start", "end", "title", "byline", "source_path", "content_hash",
                 "date", "site", "url", "language", "pages")
_INT_FIELDS = ("index", "start", "end")


def parse_headers(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(";"):
        name, sep, value = part.partition(":")
        if sep and name.strip():
            out[name.strip()] = value.strip()
    return out


def _http_client(url: str, token: str, headers: str, tenant: str, database: str) -> Any:
    import chromadb
    from chromadb.config import Settings

    u = urlsplit(url)
    if not u.hostname:
        raise StoreError(f"store.url {url!r} has no host")
    ssl = u.scheme == "https"
    port = u.port or (443 if ssl else 8000)
    sent = parse_headers(headers)
    if token:
        sent["Authorization"] = f"Bearer {token}"
    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    try:
        return chromadb.HttpClient(host=u.hostname, port=port, ssl=ssl, headers=sent or None, settings=settings,
                                   tenant=tenant, database=database)
    except Exception as e:
        if "atabase" not in str(e) or not any(w in str(e) for w in ("not found", "does not exist")):
            raise
    # A database per deployment keeps several Akhbar homes apart on one server.
    admin = chromadb.AdminClient(Settings(
        chroma_api_impl="chromadb.api.fastapi.FastAPI", chroma_server_host=u.hostname, chroma_server_http_port=port,
        chroma_server_ssl_enabled=ssl, chroma_server_headers=sent or None, anonymized_telemetry=False))
    admin.create_database(database, tenant=tenant)
    return chromadb.HttpClient(host=u.hostname, port=port, ssl=ssl, headers=sent or None, settings=settings,
                               tenant=tenant, database=database)


class ChromaStore:
    def __init__(self, path: Path, collection: str, embed_model: str, dim: int | None = None, *, url: str = "",
                 token: str = "", headers: str = "", tenant: str = "default_tenant",
                 database: str = "default_database") -> None:
        self.path = Path(path)
        self.url = url
        self.collection_name = collection
        self.embed_model = embed_model
        self._dim = dim
        self._vs: Any = None
        where = f"the Chroma server at {url} (database {database!r})" if url else f"the Chroma store at {self.path}"
        self.where = where
        try:
            import chromadb
            from chromadb.config import Settings

            if url:
                self._client = _http_client(url, token, headers, tenant, database)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(
                    path=str(self.path), settings=Settings(anonymized_telemetry=False, allow_reset=False)
                )
            self._collection = self._client.get_or_create_collection(
                name=collection,
                metadata={"hnsw:space": "cosine", "embed_model": embed_model},
                embedding_function=None,
            )
        except StoreError:
            raise
        except Exception as e:
            raise StoreError(f"cannot open {where} (collection {collection!r}): {e}") from e
        built_with = (self._collection.metadata or {}).get("embed_model")
        if built_with and built_with != embed_model:
            raise StoreError(
                f"collection {collection!r} was built with embedding model {built_with!r}, "
                f"not {embed_model!r}; use another collection or re-ingest into a new one"
            )

    # ------------------------------------------------------------------ writes

    @property
    def vs(self) -> Any:
        """llama-index's ``ChromaVectorStore`` over the collection, made on the first write:
        importing llama-index costs seconds that a process which only asks never needs."""
        if self._vs is None:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._vs = ChromaVectorStore(chroma_collection=self._collection)
        return self._vs

    @staticmethod
    def _nodes(chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> list[BaseNode]:
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        if len(chunks) != len(embeddings):
            raise StoreError(f"{len(chunks)} chunks but {len(embeddings)} embeddings")
        return [
            TextNode(
                id_=chunk.chunk_id,
                text=chunk.text,
                embedding=list(emb),
                metadata=chunk_meta(chunk),
                start_char_idx=chunk.start,
                end_char_idx=chunk.end,
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id)},
            )
            for chunk, emb in zip(chunks, embeddings)
        ]

    def add(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> None:
        nodes = self._nodes(chunks, embeddings)
        if not nodes:
            return
        try:
            self.vs.add(nodes)
        except Exception as e:
            raise StoreError(f"cannot write {len(nodes)} chunks to collection {self.collection_name!r} "
                             f"on {self.where}: {e}") from e

    def upsert(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> None:
        """Write chunks, replacing any with the same ids: re-running a write after a crash
        converges instead of failing on ids that made it in the first time."""
        from llama_index.core.schema import MetadataMode
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        nodes = self._nodes(chunks, embeddings)
        if not nodes:
            return
        try:
            self._collection.upsert(
                ids=[n.node_id for n in nodes],
                embeddings=cast(Any, [n.get_embedding() for n in nodes]),
                metadatas=[node_to_metadata_dict(n, remove_text=True, flat_metadata=True) for n in nodes],
                documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes],
            )
        except Exception as e:
            raise StoreError(f"cannot write {len(nodes)} chunks to collection {self.collection_name!r} "
                             f"on {self.where}: {e}") from e

    def ids_for_doc(self, doc_id: str) -> set[str]:
        try:
            return set(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])
        except Exception as e:
            raise StoreError(f"cannot read collection {self.collection_name!r} on {self.where}: {e}") from e

    def all_ids(self) -> dict[str, str]:
        """chunk id → doc id for the whole collection (for reconciliation)."""
        out: dict[str, str] = {}
        total = self.count()
        for offset in range(0, total, 5000):
            res = self._collection.get(include=["metadatas"], limit=5000, offset=offset)
            for cid, m in zip(res["ids"], res["metadatas"] or []):
                out[cid] = str((m or {}).get("doc_id", ""))
        return out

    def delete_doc(self, doc_id: str) -> None:
        try:
            self.vs.delete(ref_doc_id=doc_id)
        except Exception as e:
            raise StoreError(f"cannot delete document {doc_id}: {e}") from e

    def delete_chunks(self, chunk_ids: Iterable[str]) -> None:
        ids = list(chunk_ids)
        if ids:
            try:
                self.vs.delete_nodes(node_ids=ids)
            except Exception as e:
                raise StoreError(f"cannot delete {len(ids)} chunks: {e}") from e

    # ------------------------------------------------------------------- reads

    def doc_chunk_meta(self, where: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """chunk id → our metadata for the chunks matching a Chroma ``where`` filter."""
        try:
            res = self._collection.get(where=where, include=["metadatas"])
        except Exception as e:
            raise StoreError(f"cannot read collection {self.collection_name!r} on {self.where}: {e}") from e
        return {cid: _our_meta(m or {}) for cid, m in zip(res["ids"], res["metadatas"] or [])}

    def query(self, embedding: Sequence[float], top_k: int, where: dict[str, Any] | None = None) -> list[Hit]:
        # Straight to Chroma: on the query path llama-index's wrapper re-parses every node's
        # JSON, a cost with nothing we use in return.
        try:
            res = self._collection.query(query_embeddings=[list(embedding)], n_results=top_k, where=where,
                                         include=["documents", "metadatas", "distances"])
        except Exception as e:
            if self.count() == 0:
                return []
            raise StoreError(f"cannot query collection {self.collection_name!r} on {self.where}: {e}") from e
        ids = (res.get("ids") or [[]])[0]
        docs = (res.get("documents") or [[]])[0]
        metas = (res.get("metadatas") or [[]])[0]
        dists = (res.get("distances") or [[]])[0]
        # Cosine space: distance = 1 - cos.
        return [Hit(chunk=chunk_from(cid, doc or "", meta or {}), score=1.0 - float(dist))
                for cid, doc, meta, dist in zip(ids, docs, metas, dists)]

    def query_ids(self, embedding: Sequence[float], top_k: int,
                  where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine) of the nearest chunks, without their texts: hybrid retrieval
        fuses many candidates and needs the texts of the final few only."""
        try:
            res = self._collection.query(query_embeddings=[list(embedding)], n_results=top_k, where=where,
                                         include=["distances"])
        except Exception as e:
            if self.count() == 0:
                return []
            raise StoreError(f"cannot query collection {self.collection_name!r} on {self.where}: {e}") from e
        ids = (res.get("ids") or [[]])[0]
        dists = (res.get("distances") or [[]])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, dists)]

    def get_chunks(self, ids: Sequence[str], where: dict[str, Any] | None = None) -> dict[str, Chunk]:
        if not ids:
            return {}
        try:
            res = self._collection.get(ids=list(ids), where=where, include=["documents", "metadatas"])
        except Exception as e:
            raise StoreError(f"cannot read collection {self.collection_name!r} on {self.where}: {e}") from e
        return {cid: chunk_from(cid, doc or "", meta or {})
                for cid, doc, meta in zip(res["ids"], res["documents"] or [], res["metadatas"] or [])}

    def get_chunks_with_vectors(self, ids: Sequence[str], where: dict[str, Any] | None = None
                                ) -> tuple[dict[str, Chunk], dict[str, list[float]]]:
        if not ids:
            return {}, {}
        try:
            res = self._collection.get(ids=list(ids), where=where, include=["documents", "metadatas", "embeddings"])
        except Exception as e:
            raise StoreError(f"cannot read collection {self.collection_name!r} on {self.where}: {e}") from e
        chunks, vectors = {}, {}
        embeddings = res["embeddings"] if res["embeddings"] is not None else []
        for cid, doc, meta, emb in zip(res["ids"], res["documents"] or [], res["metadatas"] or [], embeddings):
            chunks[cid] = chunk_from(cid, doc or "", meta or {})
            vectors[cid] = [float(x) for x in emb]
        return chunks, vectors

    def all_texts(self) -> tuple[list[str], list[str]]:
        """(ids, texts) of every chunk, for building the lexical index."""
        ids: list[str] = []
        texts: list[str] = []
        total = self.count()
        for offset in range(0, total, 5000):
            res = self._collection.get(include=["documents", "metadatas"], limit=5000, offset=offset)
            for cid, doc, meta in zip(res["ids"], res["documents"] or [], res["metadatas"] or []):
                ids.append(cid)
                # Titles are indexed with the text, as they are embedded with it.
                texts.append(f"{(meta or {}).get('title', '')}\n{doc or ''}")
        return ids, texts

    def iter_chunks(self, page: int = 2000) -> Iterator[list[Chunk]]:
        """Every chunk, a page at a time."""
        for offset in range(0, self.count(), page):
            try:
                res = self._collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            except Exception as e:
                raise StoreError(f"cannot read collection {self.collection_name!r} on {self.where}: {e}") from e
            yield [chunk_from(cid, doc or "", meta or {})
                   for cid, doc, meta in zip(res["ids"], res["documents"] or [], res["metadatas"] or [])]

    def has(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` the collection holds."""
        if not ids:
            return set()
        try:
            return set(self._collection.get(ids=list(ids), include=[])["ids"])
        except Exception as e:
            raise StoreError(f"cannot read collection {self.collection_name!r} on {self.where}: {e}") from e

    def count(self) -> int:
        try:
            return int(self._collection.count())
        except Exception as e:
            raise StoreError(f"cannot count collection {self.collection_name!r} on {self.where}: {e}") from e

    def documents(self) -> dict[str, dict[str, Any]]:
        """doc id → {title, byline, source_path, content_hash, chunks} over the collection."""
        docs: dict[str, dict[str, Any]] = {}
        total = self.count()
        page = 1000
        for offset in range(0, total, page):
            try:
                res = self._collection.get(include=["metadatas"], limit=page, offset=offset)
            except Exception as e:
                raise StoreError(f"cannot read collection {self.collection_name!r} on {self.where}: {e}") from e
            for m in res["metadatas"] or []:
                meta = _our_meta(m or {})
                d = docs.setdefault(str(meta.get("doc_id")), {
                    "title": meta.get("title", ""), "byline": meta.get("byline", ""),
                    "source_path": meta.get("source_path", ""), "content_hash": meta.get("content_hash", ""),
                    "chunks": 0,
                })
                d["chunks"] += 1
        return docs


def date_num(iso: str) -> int:
    """``2024-12-04...`` → 20241204 (0 when unknown): Chroma compares only numbers."""
    digits = iso[:10].replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


def chunk_meta(chunk: Chunk) -> dict[str, Any]:
    """The metadata stored with a chunk (Chroma's, and the chunk table's): its fields and
    ``date_num`` for date filters."""
    return {**{k: getattr(chunk, k) for k in _CHUNK_FIELDS}, "date_num": date_num(chunk.date)}


def chunk_from(cid: str, text: str, meta: Mapping[str, Any]) -> Chunk:
    return Chunk(chunk_id=cid, text=text, **{k: meta.get(k, 0 if k in _INT_FIELDS else "") for k in _CHUNK_FIELDS})


def _our_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in _CHUNK_FIELDS if k in meta}
