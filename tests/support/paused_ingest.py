"""``akhbar ingest`` that stops at a chosen point of its store writes and says so, for
crash tests that must kill at a known moment rather than race a running process.

    AKHBAR_TEST_PAUSE=before:2 python -m tests.support.paused_ingest ARCHIVE --quiet

``before:N`` stops just before the Nth batch of vectors is written (its documents are
already recorded as pending), ``after:N`` just after it (vectors written, documents not yet
complete). At that point it prints ``PAUSED <where>`` and waits for a line on stdin, then
goes on; the test kills it (or something it depends on) while it waits. If the ingest ends
before the point is reached, nothing is printed and the test sees the process exit.

Test infrastructure, not part of Akhbar.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from rag.cli import main
from rag.store import ChromaStore


def _install(when: str, at: int) -> None:
    original = ChromaStore.upsert
    calls = [0]

    def upsert(self: ChromaStore, chunks: Sequence[object], embeddings: Sequence[Sequence[float]]) -> None:
        calls[0] += 1
        if when == "before" and calls[0] == at:
            _pause(f"before:{at}")
        original(self, chunks, embeddings)  # type: ignore[arg-type]
        if when == "after" and calls[0] == at:
            _pause(f"after:{at}")

    ChromaStore.upsert = upsert  # type: ignore[method-assign]


def _pause(where: str) -> None:
    print(f"PAUSED {where}", flush=True)
    sys.stdin.readline()


if __name__ == "__main__":
    when, _, at = os.environ["AKHBAR_TEST_PAUSE"].partition(":")
    if when not in ("before", "after") or not at.isdigit():
        sys.exit(f"AKHBAR_TEST_PAUSE must be before:N or after:N, not {os.environ['AKHBAR_TEST_PAUSE']!r}")
    _install(when, int(at))
    sys.exit(main(["ingest", *sys.argv[1:]]))
