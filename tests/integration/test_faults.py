"""Crashes and repairs: a real process SIGKILLed in the middle of ingest's text phase, of a
Chroma write and of a streamed answer; `akhbar doctor` finds what the crash left and repairs it, and
the result equals an uninterrupted run. Also: a manifest from a newer Akhbar is refused,
not reset, and an older one is migrated in place with its data kept."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.synth import write_archive
from rag import Akhbar, Config, StoreError
from tests.conftest import AR_QUESTION, REPO, copy_seeds
from tests.integration.test_archive import _cli, _snapshot, archive_and_expected, ingest_here

# Runs `akhbar ingest` with ChunkTable.put wrapped: on its Nth call (a batch of the text
# phase) the chunks are written, and the process kills itself before its documents are complete.
KILL_AFTER_PUT = """
import os, signal, sys
from rag.chunks import ChunkTable
from rag.cli import main
original = ChunkTable.put
calls = {"n": 0}
def put(self, chunks, embedded=False):
    original(self, chunks, embedded)
    calls["n"] += 1
    if calls["n"] == int(os.environ["KILL_AT_CALL"]):
        os.kill(os.getpid(), signal.SIGKILL)
ChunkTable.put = put
sys.exit(main(["ingest", sys.argv[1], "--quiet"]))
"""

# Runs `akhbar ingest` with ChromaStore.upsert wrapped: on its Nth call it writes the first
# half of the batch to Chroma and then the process kills itself, mid-write.
KILL_IN_UPSERT = """
import os, signal, sys
from rag.store import ChromaStore
from rag.cli import main
original = ChromaStore.upsert
calls = {"n": 0}
def upsert(self, chunks, embeddings):
    calls["n"] += 1
    if calls["n"] == int(os.environ["KILL_AT_CALL"]):
        half = max(1, len(chunks) // 2)
        original(self, chunks[:half], embeddings[:half])
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, chunks, embeddings)
ChromaStore.upsert = upsert
sys.exit(main(["ingest", sys.argv[1], "--quiet"]))
"""

pytestmark = [pytest.mark.slow, pytest.mark.store]


def _env(home: Path, cfg: Config, **extra: str) -> dict[str, str]:
    return {**os.environ, "AKHBAR_HOME": str(home), "AKHBAR_MODELS_DIR": str(cfg.models_dir),
            "PYTHONPATH": str(REPO), **extra}


def test_sigkill_in_the_text_phase_then_doctor_repairs(tmp_path: Path, prepared_config: Config,
                                                       embedder: Any) -> None:
    corpus, expected = archive_and_expected(tmp_path, embedder)
    assert len(expected["chunks"]) > 64, "the archive must fill more than one write batch"

    crashed = tmp_path / "crashed"
    proc = subprocess.run([sys.executable, "-c", KILL_AFTER_PUT, str(corpus)], cwd=REPO, timeout=600,
                          env=_env(crashed, prepared_config, KILL_AT_CALL="2"), capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    check = _cli(crashed, "doctor", "--check", "--json", cfg=prepared_config)
    found = json.loads(check.stdout)
    assert check.returncode == 1 and not found["consistent"] and found["found"]["pending_documents"] > 0, found
    assert found["actions"] == []  # --check changes nothing
    repaired = _cli(crashed, "doctor", cfg=prepared_config)
    assert repaired.returncode == 0, repaired.stderr
    assert "repaired:" in repaired.stdout and "re-ingested" in repaired.stdout
    again = json.loads(_cli(crashed, "doctor", "--check", "--json", cfg=prepared_config).stdout)
    assert again["consistent"] and again["found"]["chunks_waiting_for_vectors"] == 0, again
    # The repair finished the interrupted documents; a normal re-ingest adds the rest, and
    # the result is exactly an uninterrupted run's.
    assert not ingest_here(crashed, corpus, embedder).errors
    assert _snapshot(crashed) == expected


def test_sigkill_inside_a_chroma_write_then_akhbar_vectors_resumes(tmp_path: Path, prepared_config: Config,
                                                                   embedder: Any) -> None:
    corpus, expected = archive_and_expected(tmp_path, embedder)

    crashed = tmp_path / "crashed"
    proc = subprocess.run([sys.executable, "-c", KILL_IN_UPSERT, str(corpus)], cwd=REPO, timeout=600,
                          env=_env(crashed, prepared_config, KILL_AT_CALL="2"), capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    # The text phase had ended: every document is complete and searchable; half a batch of
    # vectors made it in unmarked. That is a consistent store with vectors still to come.
    check = _cli(crashed, "doctor", "--check", "--json", cfg=prepared_config)
    found = json.loads(check.stdout)
    assert check.returncode == 0 and found["consistent"], found
    assert found["found"]["pending_documents"] == 0 and found["found"]["chunks_waiting_for_vectors"] > 0, found
    stats = json.loads(_cli(crashed, "stats", "--json", cfg=prepared_config).stdout)
    assert stats["pending_vectors"] == found["found"]["chunks_waiting_for_vectors"], stats
    resumed = _cli(crashed, "vectors", "--json", cfg=prepared_config)
    assert resumed.returncode == 0, resumed.stderr
    status = json.loads(resumed.stdout)
    assert status["pending"] == 0 and status["done"] == stats["pending_vectors"], status
    assert _snapshot(crashed) == expected


def test_doctor_embeds_lost_vectors_again_and_removes_documents_whose_text_and_sources_are_gone(
        bot: Akhbar, tmp_path: Path) -> None:
    corpus = copy_seeds(tmp_path / "corpus")
    bot.ingest(corpus)
    doc = bot.documents()[0]
    chunks = bot.store.count()
    for f in corpus.iterdir():
        f.unlink()
    # Vectors lost, the chunk table intact: embedded again from the table, no source needed.
    bot.store.delete_doc(doc.doc_id)
    result = bot.doctor(repair=False)
    assert result.found.documents_missing_vectors == 1 and not result.consistent
    result = bot.doctor()
    assert any("embedded again from the chunk table" in a for a in result.actions), result
    assert bot.store.count() == chunks and bot.doctor(repair=False).consistent
    # The chunk rows lost too, and the sources gone: nothing to rebuild it from.
    bot.store.delete_doc(doc.doc_id)
    bot.chunks.delete_doc(doc.doc_id)
    assert not bot.doctor(repair=False).consistent
    result = bot.doctor()
    assert any("removed; its sources are gone" in a for a in result.actions), result
    assert bot.documents() == [] and bot.store.count() == 0 and bot.chunks.count() == 0
    assert bot.doctor(repair=False).consistent


def test_sigkill_while_streaming_an_answer_leaves_the_store_consistent(tmp_path: Path, prepared_config: Config,
                                                                       embedder: Any, llm_15b: Any) -> None:
    home = tmp_path / "home"  # its own data home (in server mode: its own server database)
    assert not ingest_here(home, copy_seeds(tmp_path / "corpus"), embedder).errors
    code = ("import sys\nfrom rag import Akhbar\nbot = Akhbar.open(llm={'backend': 'llamacpp'})\n"
            "for piece in bot.ask_stream(sys.argv[1]):\n    print('PIECE', flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, AR_QUESTION], cwd=REPO, env=_env(home, prepared_config),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("PIECE")  # the answer is streaming
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    check = _cli(home, "doctor", "--check", "--json", cfg=prepared_config)
    assert check.returncode == 0 and json.loads(check.stdout)["consistent"]
    from tests.conftest import base_config

    # The store is what is checked: the reader's own copy, the decision off.
    after = Akhbar(base_config(home).with_overrides(answer={"min_confidence": None}), embedder=embedder,
                   llm=llm_15b).ask(AR_QUESTION)
    assert not after.refused and "2017" in after.text


def test_manifest_from_a_newer_akhbar_is_refused_not_reset(bot: Akhbar, tmp_path: Path) -> None:
    bot.ingest(copy_seeds(tmp_path / "corpus"))
    path = bot.config.manifest_path
    bot.manifest.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="schema version 99, newer than this Akhbar"):
        _ = Akhbar(bot.config, embedder=bot.embedder).manifest
    assert path.read_bytes() == before  # untouched


def test_manifest_without_a_version_is_migrated_keeping_its_data(bot: Akhbar, tmp_path: Path) -> None:
    bot.ingest(copy_seeds(tmp_path / "corpus"))
    docs = bot.documents()
    path = bot.config.manifest_path
    bot.manifest.close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM meta WHERE key='schema_version'")  # as written before versions existed
    db.commit()
    db.close()
    reopened = Akhbar(bot.config, embedder=bot.embedder)
    assert reopened.documents() == docs
    version = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert int(version) >= 1


def test_a_version_1_manifest_gains_the_copies_metadata_keeping_its_sources(bot: Akhbar, tmp_path: Path) -> None:
    bot.ingest(copy_seeds(tmp_path / "corpus"))
    before = [(s.source, s.relation) for d in bot.documents() for s in d.sources]
    path = bot.config.manifest_path
    bot.manifest.close()
    db = sqlite3.connect(path)
    for column in ("title", "site", "date", "url"):  # the sources table as version 1 wrote it
        db.execute(f"ALTER TABLE sources DROP COLUMN {column}")
    db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    db.commit()
    db.close()
    reopened = Akhbar(bot.config, embedder=bot.embedder)
    assert [(s.source, s.relation) for d in reopened.documents() for s in d.sources] == before
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(sources)")}
    assert {"title", "site", "date", "url"} <= columns
    assert sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "2"
    assert not any(s.title for d in reopened.documents() for s in d.sources)
    # An unchanged re-ingest fills in what version 1 did not keep, and new copies keep theirs.
    assert reopened.ingest(tmp_path / "corpus").skipped == 1
    assert all(s.title for d in reopened.documents() for s in d.sources)
    assert reopened.ingest(copy_seeds(tmp_path / "again")).duplicates == 1
    assert len([s for d in reopened.documents() for s in d.sources if s.title]) == 2


def test_chroma_server_killed_mid_ingest_clear_error_then_doctor(tmp_path: Path, prepared_config: Config) -> None:
    from tests.conftest import start_chroma, stop
    from tests.integration.test_archive import _complete_docs, paused_ingest, wait_paused

    corpus = tmp_path / "archive"
    write_archive(corpus, 36)
    data = tmp_path / "chroma-data"
    data.mkdir()
    server, url = start_chroma(data)
    home = tmp_path / "home"
    try:
        # The ingest stops before its second batch of vectors (the text phase is over: every
        # document complete); the server dies; the ingest goes on and its next write meets
        # the dead server.
        proc = paused_ingest(home, corpus, "before:2", prepared_config, AKHBAR_CHROMA_URL=url)
        wait_paused(proc, "before:2")
        assert _complete_docs(home) == 36
        server.send_signal(signal.SIGKILL)
        server.wait()
        _, err = proc.communicate("go\n", timeout=300)
        assert proc.returncode != 0
        assert f"Chroma server at {url}" in err or "cannot write" in err, err
        assert "Traceback" not in err, err
        # Back up on the same data (the kernel may hand it another port).
        server, url = start_chroma(data)
        env = _env(home, prepared_config, AKHBAR_CHROMA_URL=url)
        result = subprocess.run([sys.executable, "-m", "rag.cli", "doctor", "--json"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        check = json.loads(subprocess.run([sys.executable, "-m", "rag.cli", "doctor", "--check", "--json"],
                                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600).stdout)
        assert check["consistent"], (report, check)
        assert check["found"]["chunks_waiting_for_vectors"] == 0, check  # doctor finished the phase
        again = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--quiet"], cwd=REPO,
                               env=env, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stderr
        final = json.loads(subprocess.run([sys.executable, "-m", "rag.cli", "doctor", "--check", "--json"],
                                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600).stdout)
        assert final["consistent"] and final["found"]["documents"] == 36, final
        assert final["found"]["chunks_waiting_for_vectors"] == 0 and final["found"]["chunks_in_store"] > 64, final
    finally:
        stop(server, timeout=20)
