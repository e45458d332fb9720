"""The chunk table: every stored chunk's text and metadata, and whether its vector is in the
vector store yet. SQLite, in the manifest's file (a table of its own).

Ingest has two phases (``ingest.pipeline``): the first writes chunks here, and they are
searchable by BM25 at once; the second (``rag.vector_phase``) embeds the chunks still
``embedded = 0`` and writes them to Chroma, then flips the flag. So this table, not Chroma,
answers "which chunks exist" (BM25's texts, the chunk count, a chunk by id), and Chroma
answers "which chunks are near this vector". A home made before the table existed is filled
from Chroma once, every chunk marked embedded.

It does not embed, rank or delete vectors; it evaluates the small subset of Chroma's
``where`` language that ``rag.retrieval.Filters`` writes, so a lexical-only chunk obeys the
same filters as one Chroma filters.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.errors import StoreError
from rag.store import ChromaStore, chunk_from, chunk_meta
from rag.types import Chunk

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    collection TEXT NOT NULL,
    chunk_id   TEXT NOT NULL,
    doc_id     TEXT NOT NULL,
    text       TEXT NOT NULL,
    meta       TEXT NOT NULL,
    embedded   INTEGER NOT NULL DEFAULT 0,
    added_at   REAL NOT NULL,
    PRIMARY KEY (collection, chunk_id)
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (collection, doc_id);
CREATE INDEX IF NOT EXISTS chunks_embedded ON chunks (collection, embedded);
CREATE TABLE IF NOT EXISTS chunk_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_BATCH = 500  # SQLite's bound-variable limit is far above; keeps statements small


class ChunkTable:
    def __init__(self, path: Path, collection: str) -> None:
        self.path = Path(path)
        self.collection = collection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"the chunk table in {self.path} is unreadable: {e}") from e

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._db.execute(sql, tuple(args)))
            except sqlite3.DatabaseError as e:
                raise StoreError(f"cannot read the chunk table in {self.path}: {e}") from e

    def close(self) -> None:
        self._db.close()

    # ----------------------------------------------------------------- writes

    def put(self, chunks: Sequence[Chunk], embedded: bool = False) -> None:
        """Add chunks (text and metadata). A chunk already here keeps its ``embedded`` flag:
        ids are made from the content, so the same id is the same text."""
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "INSERT INTO chunks(collection, chunk_id, doc_id, text, meta, embedded, added_at) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT(collection, chunk_id) DO UPDATE SET "
                "doc_id=excluded.doc_id, text=excluded.text, meta=excluded.meta"
                + (", embedded=1" if embedded else ""),
                [(self.collection, c.chunk_id, c.doc_id, c.text, json.dumps(chunk_meta(c), ensure_ascii=False),
                  int(embedded), now) for c in chunks])

    def delete(self, chunk_ids: Iterable[str]) -> None:
        ids = list(chunk_ids)
        with self._tx() as db:
            for i in range(0, len(ids), _BATCH):
                part = ids[i:i + _BATCH]
                db.execute(f"DELETE FROM chunks WHERE collection=? AND chunk_id IN ({','.join('?' * len(part))})",
                           (self.collection, *part))

    def delete_doc(self, doc_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM chunks WHERE collection=? AND doc_id=?", (self.collection, doc_id))

    def mark_embedded(self, chunk_ids: Iterable[str], embedded: bool = True) -> None:
        ids = list(chunk_ids)
        with self._tx() as db:
            for i in range(0, len(ids), _BATCH):
                part = ids[i:i + _BATCH]
                db.execute(f"UPDATE chunks SET embedded=? WHERE collection=? AND chunk_id IN "
                           f"({','.join('?' * len(part))})", (int(embedded), self.collection, *part))

    def fill_from(self, store: ChromaStore) -> int:
        """Once per collection: a home made before this table existed gets every chunk Chroma
        holds, marked embedded. Returns how many were added (0 when already done)."""
        key = f"filled:{self.collection}"
        if self._rows("SELECT value FROM chunk_meta WHERE key=?", (key,)):
            return 0
        added = 0
        if not self.count():
            for page in store.iter_chunks():
                self.put(page, embedded=True)
                added += len(page)
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO chunk_meta(key, value) VALUES(?, '1')", (key,))
        return added

    # ------------------------------------------------------------------ reads

    def count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM chunks WHERE collection=?", (self.collection,))[0][0])

    def pending_count(self) -> int:
        """Chunks whose vectors are not in the store yet."""
        return int(self._rows("SELECT COUNT(*) FROM chunks WHERE collection=? AND embedded=0",
                              (self.collection,))[0][0])

    def pending(self, limit: int, after: int = 0) -> list[tuple[int, Chunk]]:
        """The next chunks waiting for vectors, in the order they were added, with their row
        numbers; ``after`` skips rows up to that number (a batch still being written)."""
        return [(r[3], chunk_from(r[0], r[1], json.loads(r[2]))) for r in self._rows(
            "SELECT chunk_id, text, meta, rowid FROM chunks WHERE collection=? AND embedded=0 AND rowid>? "
            "ORDER BY rowid LIMIT ?", (self.collection, after, limit))]

    def get(self, ids: Sequence[str], where: Mapping[str, Any] | None = None) -> dict[str, Chunk]:
        """id → chunk for the ids held (and, with ``where``, matching it)."""
        out: dict[str, Chunk] = {}
        wanted = list(dict.fromkeys(ids))
        for i in range(0, len(wanted), _BATCH):
            part = wanted[i:i + _BATCH]
            for cid, text, meta in self._rows(
                    f"SELECT chunk_id, text, meta FROM chunks WHERE collection=? AND chunk_id IN "
                    f"({','.join('?' * len(part))})", (self.collection, *part)):
                m = json.loads(meta)
                if where is None or matches(m, where):
                    out[cid] = chunk_from(cid, text, m)
        return out

    def embedded(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` have their vectors in the store."""
        out: set[str] = set()
        wanted = list(dict.fromkeys(ids))
        for i in range(0, len(wanted), _BATCH):
            part = wanted[i:i + _BATCH]
            out.update(r[0] for r in self._rows(
                f"SELECT chunk_id FROM chunks WHERE collection=? AND embedded=1 AND chunk_id IN "
                f"({','.join('?' * len(part))})", (self.collection, *part)))
        return out

    def ids(self) -> dict[str, tuple[str, bool]]:
        """chunk id → (doc id, embedded) for the whole collection."""
        return {r[0]: (r[1], bool(r[2])) for r in self._rows(
            "SELECT chunk_id, doc_id, embedded FROM chunks WHERE collection=?", (self.collection,))}

    def ids_for_doc(self, doc_id: str) -> set[str]:
        return {r[0] for r in self._rows("SELECT chunk_id FROM chunks WHERE collection=? AND doc_id=?",
                                         (self.collection, doc_id))}

    def all_texts(self) -> tuple[list[str], list[str]]:
        """(ids, texts) of every chunk, the title first, as they are embedded: BM25's input."""
        ids: list[str] = []
        texts: list[str] = []
        for cid, text, meta in self._rows("SELECT chunk_id, text, meta FROM chunks WHERE collection=? ORDER BY rowid",
                                          (self.collection,)):
            ids.append(cid)
            texts.append(f"{json.loads(meta).get('title', '')}\n{text}")
        return ids, texts


def matches(meta: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """Chroma's ``where`` semantics for ``$and``/``$or`` and the comparison operators, over one
    chunk's metadata. As in Chroma, a missing key matches ``$ne`` and ``$nin`` and nothing else."""
    for key, cond in where.items():
        if key == "$and":
            if not all(matches(meta, c) for c in cond):
                return False
            continue
        if key == "$or":
            if not any(matches(meta, c) for c in cond):
                return False
            continue
        ops = cond if isinstance(cond, Mapping) else {"$eq": cond}
        if key not in meta:
            if all(op in ("$ne", "$nin") for op in ops):
                continue
            return False
        value = meta[key]
        for op, arg in ops.items():
            if not _compare(op, value, arg):
                return False
    return True


def _compare(op: str, value: Any, arg: Any) -> bool:
    if op == "$eq":
        return bool(value == arg)
    if op == "$ne":
        return bool(value != arg)
    if op == "$in":
        return value in arg
    if op == "$nin":
        return value not in arg
    if op in ("$gt", "$gte", "$lt", "$lte"):
        try:
            return bool({"$gt": value > arg, "$gte": value >= arg, "$lt": value < arg, "$lte": value <= arg}[op])
        except TypeError:
            return False
    raise StoreError(f"unsupported filter operator {op!r}")
