"""Ingest's second phase: embed the chunks the chunk table holds without vectors and write
them to the vector store, resumable, in the foreground or on a background thread.

A batch is: the next chunks still waiting (``rag.chunks.ChunkTable.pending``), minus any the
store already holds (a batch written just before a SIGKILL, whose flags never flipped: they
are marked, not embedded again), embedded, upserted, then marked embedded. A kill between
any two steps leaves a state the next run finishes; nothing is embedded twice except the
batch in flight when the process died.

While a question is being answered (``busy``), the background worker waits between
batches: on two cores the LLM and the embedder would otherwise share them, and llama.cpp's
threads slow down badly when another thread holds a core. An answer that needs the vector
of a chunk still waiting embeds it then (``embed_now``) and keeps it, so the worker skips it.

It does not chunk, parse or decide what is retrieved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rag.chunks import ChunkTable
from rag.embedder import Embedder
from rag.store import ChromaStore
from rag.types import Chunk


@dataclass(frozen=True)
class VectorProgress:
    """Where the vector phase stands: chunks in all, still waiting, done by this run, rate."""

    total: int
    pending: int
    done: int = 0
    seconds: float = 0.0
    running: bool = False
    error: str = ""

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"rate": round(self.rate, 2)}


def passage_text(chunk: Chunk) -> str:
    # The title is embedded with each chunk so a chunk is found by what the story is about,
    # not only by its own sentences; the stored text stays the original.
    return f"{chunk.title}\n{chunk.text}"


class VectorPhase:
    def __init__(self, chunks: ChunkTable, store: ChromaStore, embedder: Embedder, batch: int = 32,
                 background_batch: int = 8) -> None:
        self.chunks = chunks
        self.store = store
        self.embedder = embedder
        self.batch = batch
        self.background_batch = background_batch
        self._write = threading.RLock()  # one writer of vectors at a time
        self._busy = 0
        self._busy_lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = 0
        self._started = 0.0
        self._error = ""

    # ------------------------------------------------------------------ status

    def status(self) -> VectorProgress:
        running = self._thread is not None and self._thread.is_alive()
        return VectorProgress(total=self.chunks.count(), pending=self.chunks.pending_count(), done=self._done,
                              seconds=(time.monotonic() - self._started) if self._started else 0.0,
                              running=running, error=self._error)

    # ---------------------------------------------------------------- answers

    def answering(self) -> _Answering:
        """``with phase.answering():`` around an answer: the background worker waits."""
        return _Answering(self)

    def embed_now(self, chunks: Sequence[Chunk]) -> dict[str, list[float]]:
        """Vectors for chunks an answer needs now; those still waiting are embedded and kept
        (written to the store, marked), so the worker will not embed them again."""
        if not chunks:
            return {}
        ids = [c.chunk_id for c in chunks]
        _, stored = self.store.get_chunks_with_vectors(ids)
        out = {cid: v for cid, v in stored.items()}
        todo = [c for c in chunks if c.chunk_id not in out]
        if todo:
            vectors = self.embedder.embed_passages([passage_text(c) for c in todo])
            with self._write:
                self.store.upsert(todo, vectors)
                self.chunks.mark_embedded([c.chunk_id for c in todo])
            out.update({c.chunk_id: list(v) for c, v in zip(todo, vectors)})
        return out

    # ---------------------------------------------------------------- batches

    def _next(self, size: int, after: int = 0) -> tuple[list[Chunk], list[Chunk], int]:
        """The next batch: (all of it, those still to embed, its last row number)."""
        rows = self.chunks.pending(size, after)
        if not rows:
            return [], [], after
        todo = [c for _, c in rows]
        held = self.store.has([c.chunk_id for c in todo])
        if held:  # written before a crash, never marked: mark, do not embed again
            self.chunks.mark_embedded(held)
        return todo, [c for c in todo if c.chunk_id not in held], rows[-1][0]

    def _keep(self, todo: Sequence[Chunk], rest: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        with self._write:
            if rest:
                self.store.upsert(rest, vectors)
                self.chunks.mark_embedded([c.chunk_id for c in rest])
            self._done += len(todo)

    def step(self, size: int | None = None) -> int:
        """Embed and store the next batch; returns how many chunks it took (0: none waiting)."""
        with self._write:
            todo, rest, _ = self._next(size or self.batch)
            if todo:
                self._keep(todo, rest, self.embedder.embed_passages([passage_text(c) for c in rest]) if rest else [])
            return len(todo)

    def run(self, progress: Callable[[VectorProgress], None] | None = None) -> VectorProgress:
        """Embed every waiting chunk, in the calling thread; each batch is written to the store
        on a second thread while the next one is embedded."""
        from concurrent.futures import Future, ThreadPoolExecutor

        self._started = self._started or time.monotonic()
        if progress:
            progress(self.status())
        after = 0
        writing: Future[None] | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="akhbar-vector-write") as pool:
            while True:
                todo, rest, after = self._next(self.batch, after)
                if not todo:
                    break
                vectors = self.embedder.embed_passages([passage_text(c) for c in rest]) if rest else []
                if writing is not None:
                    writing.result()  # one batch in flight; its error stops the phase here
                    if progress:
                        progress(self.status())
                writing = pool.submit(self._keep, todo, rest, vectors)
            if writing is not None:
                writing.result()
        if progress:
            progress(self.status())
        return self.status()

    def start(self) -> bool:
        """Run the phase on a background thread (daemon; resumable if the process ends).
        False when one is already running or nothing waits."""
        if self._thread is not None and self._thread.is_alive():
            return False
        if not self.chunks.pending_count():
            return False
        self._stop.clear()
        self._error = ""
        self._started = time.monotonic()
        self._done = 0
        self._thread = threading.Thread(target=self._loop, name="akhbar-vectors", daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        with self._busy_lock:
            self._busy_lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> VectorProgress:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                with self._busy_lock:
                    while self._busy and not self._stop.is_set():
                        self._busy_lock.wait()
                if self._stop.is_set() or not self.step(self.background_batch):
                    return
        except Exception as e:  # reported by status(); the next start resumes
            self._error = str(e)


class _Answering:
    def __init__(self, phase: VectorPhase) -> None:
        self.phase = phase

    def __enter__(self) -> None:
        with self.phase._busy_lock:
            self.phase._busy += 1

    def __exit__(self, *exc: object) -> None:
        with self.phase._busy_lock:
            self.phase._busy -= 1
            self.phase._busy_lock.notify_all()
