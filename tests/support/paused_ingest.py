"""``akhbar ingest`` that stops at a chosen point of its writes and says so, for crash tests
that must kill at a known moment rather than race a running process.

    AKHBAR_TEST_PAUSE=before:2 python -m tests.support.paused_ingest ARCHIVE --quiet

Phase 1 (text, ``ChunkTable.put``): ``text-before:N`` stops just before the Nth batch of
chunks is written (its documents are already recorded as pending), ``text-after:N`` just
after it (chunks written, documents not yet complete). Phase 2 (vectors,
``ChromaStore.upsert``): ``before:N`` stops just before the Nth batch of vectors is written
(every document is complete and searchable by then), ``after:N`` just after it (vectors
written, the chunks not yet marked as having them). At that point it prints
``PAUSED <where>`` and waits for a line on stdin, then goes on; the test kills it (or
something it depends on) while it waits. If the ingest ends before the point is reached,
nothing is printed and the test sees the process exit.

Test infrastructure, not part of Akhbar.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rag.chunks import ChunkTable
from rag.cli import main
from rag.store import ChromaStore


def _install(cls: Any, method: str, label: str, when: str, at: int) -> None:
    original = getattr(cls, method)
    calls = [0]

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if when == "before" and calls[0] == at:
            _pause(f"{label}before:{at}")
        out = original(self, *args, **kwargs)
        if when == "after" and calls[0] == at:
            _pause(f"{label}after:{at}")
        return out

    setattr(cls, method, wrapped)


def _pause(where: str) -> None:
    print(f"PAUSED {where}", flush=True)
    sys.stdin.readline()


if __name__ == "__main__":
    pause = os.environ["AKHBAR_TEST_PAUSE"]
    text = pause.startswith("text-")
    when, _, at = pause.removeprefix("text-").partition(":")
    if when not in ("before", "after") or not at.isdigit():
        sys.exit(f"AKHBAR_TEST_PAUSE must be [text-]before:N or [text-]after:N, not {pause!r}")
    if text:
        _install(ChunkTable, "put", "text-", when, int(at))
    else:
        _install(ChromaStore, "upsert", "", when, int(at))
    sys.exit(main(["ingest", *sys.argv[1:]]))
