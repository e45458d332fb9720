"""The document manifest: SQLite in the data directory, the source of truth for what a
collection holds.

``documents``: one row per stored article (id, content hash, normalised-body hash,
MinHash signature, metadata, chunk ids, status). ``sources``: every path/URL that was
ingested, pointing at the document that holds its text; duplicates and near-duplicates
(syndicated wire copy) point at one document, so each story is stored once and lists all
its sources.

Crash safety rests on the status column: a document is written ``pending`` (with the chunk
ids it will have) before any vector is written, and flipped to ``complete`` only after the
store holds exactly those chunks. A run that finds ``pending`` rows redoes them;
``reconcile`` deletes vectors that no complete document claims. Schema versions are
migrated forward, never silently reset.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import StoreError

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    collection   TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    body_hash    TEXT NOT NULL,
    minhash      BLOB,
    title        TEXT NOT NULL DEFAULT '',
    byline       TEXT NOT NULL DEFAULT '',
    date         TEXT NOT NULL DEFAULT '',
    site         TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL DEFAULT '',
    language     TEXT NOT NULL DEFAULT '',
    chunk_ids    TEXT NOT NULL DEFAULT '[]',
    status       TEXT NOT NULL CHECK (status IN ('pending', 'complete')),
    updated_at   REAL NOT NULL,
    PRIMARY KEY (collection, doc_id)
);
CREATE INDEX IF NOT EXISTS documents_body ON documents (collection, body_hash);
CREATE TABLE IF NOT EXISTS sources (
    collection   TEXT NOT NULL,
    source       TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    relation     TEXT NOT NULL CHECK (relation IN ('original', 'duplicate', 'near-duplicate')),
    updated_at   REAL NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    site         TEXT NOT NULL DEFAULT '',
    date         TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (collection, source)
);
CREATE INDEX IF NOT EXISTS sources_doc ON sources (collection, doc_id);
"""


@dataclass(frozen=True)
class DocRow:
    doc_id: str
    content_hash: str
    body_hash: str
    minhash: bytes | None
    title: str
    byline: str
    date: str
    site: str
    url: str
    language: str
    chunk_ids: tuple[str, ...]
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id, "title": self.title, "byline": self.byline, "date": self.date,
            "site": self.site, "url": self.url, "language": self.language, "chunks": len(self.chunk_ids),
            "status": self.status, "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class SourceRow:
    source: str
    doc_id: str
    content_hash: str
    relation: str
    # The copy's own metadata: a syndicated story merged into one document keeps who ran
    # it and when ("also reported by").
    title: str = ""
    site: str = ""
    date: str = ""
    url: str = ""


class Manifest:
    def __init__(self, path: Path, collection: str) -> None:
        self.path = Path(path)
        self.collection = collection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"the manifest {self.path} is unreadable: {e}") from e

    def _migrate(self) -> None:
        row = None
        with contextlib.suppress(sqlite3.OperationalError):  # a new database: no meta table yet
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the manifest {self.path} has schema version {version}, newer than this Akhbar "
                f"({SCHEMA_VERSION}); upgrade Akhbar instead of opening it with an older one"
            )
        if version < SCHEMA_VERSION:
            if version == 0:
                # executescript commits any open transaction, so it runs on its own; every
                # statement is IF NOT EXISTS, so a crash here is simply redone.
                self._db.executescript(_SCHEMA)
            with self.tx() as db:
                # Each version's ALTER TABLE steps, in order, keeping data.
                have = {r[1] for r in db.execute("PRAGMA table_info(sources)")}
                for column in ("title", "site", "date", "url"):  # version 2
                    if column not in have:
                        db.execute(f"ALTER TABLE sources ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', ?)",
                           (str(SCHEMA_VERSION),))

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; it also bumps the collection's generation, which derived
        indexes (BM25) compare against to know they are stale."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES(?, '1') ON CONFLICT(key) DO UPDATE SET value = value + 1",
                (f"generation:{self.collection}",))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (f"generation:{self.collection}",)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ reads

    def _doc(self, row: tuple[Any, ...] | None) -> DocRow | None:
        if row is None:
            return None
        return DocRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
                      tuple(json.loads(row[10])), row[11])

    _DOC_COLS = ("doc_id, content_hash, body_hash, minhash, title, byline, date, site, url, language, "
                 "chunk_ids, status")

    def doc(self, doc_id: str) -> DocRow | None:
        return self._doc(self._db.execute(
            f"SELECT {self._DOC_COLS} FROM documents WHERE collection=? AND doc_id=?",
            (self.collection, doc_id)).fetchone())

    def doc_by_body(self, body_hash: str) -> DocRow | None:
        return self._doc(self._db.execute(
            f"SELECT {self._DOC_COLS} FROM documents WHERE collection=? AND body_hash=? AND status='complete'",
            (self.collection, body_hash)).fetchone())

    def docs(self, status: str | None = None) -> list[DocRow]:
        sql = f"SELECT {self._DOC_COLS} FROM documents WHERE collection=?"
        args: tuple[Any, ...] = (self.collection,)
        if status:
            sql += " AND status=?"
            args += (status,)
        rows = [self._doc(r) for r in self._db.execute(sql + " ORDER BY date DESC, title", args)]
        return [r for r in rows if r is not None]

    def date_counts(self) -> tuple[int, int]:
        """(dated, all) complete documents: what a date filter can see, of what there is."""
        row = self._db.execute(
            "SELECT COUNT(*), SUM(date != '') FROM documents WHERE collection=? AND status='complete'",
            (self.collection,)).fetchone()
        return int(row[1] or 0), int(row[0] or 0)

    def newest_date(self) -> str:
        """The newest publication date of a complete document (ISO), or "" when none has one."""
        row = self._db.execute(
            "SELECT MAX(substr(date, 1, 10)) FROM documents WHERE collection=? AND status='complete' AND date != ''",
            (self.collection,)).fetchone()
        return str(row[0] or "")

    def source(self, source: str) -> SourceRow | None:
        row = self._db.execute(
            "SELECT source, doc_id, content_hash, relation, title, site, date, url FROM sources "
            "WHERE collection=? AND source=?", (self.collection, source)).fetchone()
        return SourceRow(*row) if row else None

    def sources_of(self, doc_id: str) -> list[SourceRow]:
        return [SourceRow(*r) for r in self._db.execute(
            "SELECT source, doc_id, content_hash, relation, title, site, date, url FROM sources "
            "WHERE collection=? AND doc_id=? ORDER BY relation != 'original', date, source", (self.collection, doc_id))]

    def all_sources(self) -> list[SourceRow]:
        return [SourceRow(*r) for r in self._db.execute(
            "SELECT source, doc_id, content_hash, relation, title, site, date, url FROM sources WHERE collection=?",
            (self.collection,))]

    def minhashes(self) -> list[tuple[str, bytes]]:
        return [(r[0], r[1]) for r in self._db.execute(
            "SELECT doc_id, minhash FROM documents WHERE collection=? AND status='complete' AND minhash IS NOT NULL",
            (self.collection,))]

    def chunk_ids(self) -> set[str]:
        ids: set[str] = set()
        for (raw,) in self._db.execute(
                "SELECT chunk_ids FROM documents WHERE collection=? AND status='complete'", (self.collection,)):
            ids.update(json.loads(raw))
        return ids

    # ----------------------------------------------------------------- writes

    def put_doc(self, db: sqlite3.Connection, row: DocRow) -> None:
        db.execute(
            "INSERT OR REPLACE INTO documents(collection, doc_id, content_hash, body_hash, minhash, title, byline, "
            "date, site, url, language, chunk_ids, status, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (self.collection, row.doc_id, row.content_hash, row.body_hash, row.minhash, row.title, row.byline,
             row.date, row.site, row.url, row.language, json.dumps(list(row.chunk_ids)), row.status, time.time()))

    def set_status(self, doc_id: str, status: str, db: sqlite3.Connection | None = None) -> None:
        (db or self._db).execute("UPDATE documents SET status=?, updated_at=? WHERE collection=? AND doc_id=?",
                                 (status, time.time(), self.collection, doc_id))

    def put_source(self, db: sqlite3.Connection, source: str, doc_id: str, content_hash: str, relation: str,
                   title: str = "", site: str = "", date: str = "", url: str = "") -> None:
        db.execute(
            "INSERT OR REPLACE INTO sources(collection, source, doc_id, content_hash, relation, updated_at, "
            "title, site, date, url) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (self.collection, source, doc_id, content_hash, relation, time.time(), title, site, date, url))

    def drop_source(self, db: sqlite3.Connection, source: str) -> None:
        db.execute("DELETE FROM sources WHERE collection=? AND source=?", (self.collection, source))

    def drop_doc(self, db: sqlite3.Connection, doc_id: str) -> None:
        db.execute("DELETE FROM documents WHERE collection=? AND doc_id=?", (self.collection, doc_id))
        db.execute("DELETE FROM sources WHERE collection=? AND doc_id=?", (self.collection, doc_id))

    def source_count(self, doc_id: str) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM sources WHERE collection=? AND doc_id=?",
                                    (self.collection, doc_id)).fetchone()[0])
