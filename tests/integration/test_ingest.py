"""Ingest against real Chroma and the real embedding model."""

from pathlib import Path

import pytest

from ingest.article import Article, parse_extracted
from ingest.pipeline import Ingestor
from rag import Akhbar
from rag.chunks import ChunkTable
from rag.errors import BackendError
from rag.vector_phase import VectorPhase
from tests.conftest import copy_seeds


def test_seed_ingest_stores_metadata_and_offsets(bot: Akhbar, tmp_path: Path) -> None:
    corpus = copy_seeds(tmp_path / "corpus")
    report = bot.ingest(corpus)
    assert report.documents == 1 and report.new_chunks >= 2 and not report.errors
    assert report.summary() == f"1 documents, {report.new_chunks} new chunks, 0 skipped, 0 errors"
    seed = next(corpus.glob("*.txt"))
    original = seed.read_text(encoding="utf-8")
    meta = bot.store.doc_chunk_meta({"doc_id": report.doc_ids[0]})
    assert len(meta) == report.new_chunks
    hits = bot.retrieve("عملية أستانا منذ يناير 2017", top_k=10)
    assert hits and all(h.chunk.source_path == str(seed.resolve()) for h in hits)
    for h in hits:
        c = h.chunk
        assert original[c.start:c.end] == c.text
        assert c.title.startswith("موسكو:") and c.byline.startswith("محمد السيد")
        assert len(c.content_hash) == 64
        assert bot.embedder.count_tokens(c.text) <= 350
        assert "اقرأ أيضاً" not in c.text
    assert "2017" in hits[0].chunk.text


def test_reingest_adds_nothing_and_changed_file_replaces(bot: Akhbar, tmp_path: Path) -> None:
    corpus = copy_seeds(tmp_path / "corpus")
    first = bot.ingest(corpus)
    before = bot.store.count()
    again = bot.ingest(corpus)
    assert again.new_chunks == 0 and again.skipped == 1
    assert again.summary() == "1 documents, 0 new chunks, 1 skipped, 0 errors"
    assert bot.store.count() == before

    seed = next(corpus.glob("*.txt"))
    seed.write_text(seed.read_text(encoding="utf-8").replace("22 اجتماعًا", "23 اجتماعًا"), encoding="utf-8")
    changed = bot.ingest(corpus)
    assert changed.replaced == 1 and changed.new_chunks > 0
    assert bot.store.count() == changed.new_chunks  # old chunks gone, no duplicates
    docs = bot.documents()
    assert [d.doc_id for d in docs] == first.doc_ids
    assert docs[0].chunks == changed.new_chunks
    texts = " ".join(h.chunk.text for h in bot.retrieve("كم اجتماعًا عقد بهذا الشكل؟", top_k=10))
    assert "23 اجتماعًا" in texts and "22 اجتماعًا" not in texts


def test_bad_files_are_reported_and_the_rest_goes_on(bot: Akhbar, tmp_path: Path) -> None:
    corpus = copy_seeds(tmp_path / "corpus")
    bot.ingest(corpus)
    stored = bot.store.count()
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    (corpus / "latin1.txt").write_bytes("Caf\xe9 news\nSome body text here.\n".encode("latin-1"))
    (corpus / "image.png").write_bytes(b"\x89PNG\r\n")
    (corpus / "ok.md").write_text("Second story\nThe council met on Tuesday and approved the budget.\n")
    report = bot.ingest(corpus, tmp_path / "missing-dir")
    reasons = {Path(f).name: r for f, r in report.errors}
    assert set(reasons) == {"empty.txt", "binary.txt", "image.png", "missing-dir"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "unsupported format .png" in reasons["image.png"]
    # Not UTF-8, but decodable: detected and ingested, not rejected.
    assert report.documents == 3 and report.skipped == 1 and report.new_chunks >= 2
    assert bot.store.count() == stored + report.new_chunks  # nothing already stored was lost


class _FailsOn:
    """The real embedder, failing on its ``fail_on``-th batch."""

    def __init__(self, inner: object, fail_on: int) -> None:
        self.inner, self.fail_on, self.calls = inner, fail_on, 0

    def embed_passages(self, texts: list[str]) -> object:
        self.calls += 1
        if self.calls == self.fail_on:
            raise BackendError("embedding failed on purpose")
        return self.inner.embed_passages(texts)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _articles(n: int) -> list[Article]:
    return [parse_extracted(f"افتتح أمير المنطقة المعرض رقم {i} في مدينة {i * 7} بحضور {i * 13} زائرا من {i} دولة.",
                            f"mem://story/{i}", title=f"خبر {i}") for i in range(n)]


def test_an_embedding_failure_keeps_what_was_written_and_a_rerun_completes(bot: Akhbar) -> None:
    embedder = _FailsOn(bot.embedder, fail_on=3)
    table = ChunkTable(bot.manifest.path, bot.manifest.collection)
    vectors = VectorPhase(table, bot.store, embedder, batch=2)  # type: ignore[arg-type]
    ingestor = Ingestor(bot.store, embedder, bot.manifest, 350, chunks=table, vectors=vectors)  # type: ignore[arg-type]
    with pytest.raises(BackendError, match="on purpose"):
        ingestor.ingest_articles(_articles(9))
    # Phase 1 wrote every document (searchable by BM25); the two vector batches before the
    # failure are stored whole, the rest wait, and that is a consistent store.
    written = bot.manifest.docs()
    assert len(written) == 9 and all(d.status == "complete" for d in written)
    assert bot.store.count() == 4 and table.pending_count() == 5
    report = bot.doctor(repair=False)
    assert report.consistent and report.found.chunks_waiting_for_vectors == 5
    hits = bot.retrieve("المعرض رقم 7 في مدينة 49", top_k=3)
    assert hits and hits[0].chunk.text.startswith("افتتح أمير المنطقة المعرض رقم 7 ")
    # That answer embedded the chunks it needed and kept them: the phase will not do them again.
    assert bot.store.count() > 4 and table.pending_count() < 5
    again = Ingestor(bot.store, bot.embedder, bot.manifest, 350, chunks=table).ingest_articles(_articles(9))
    assert again.skipped == 9 and again.new_chunks == 0 and again.pending_vectors == 0
    assert bot.store.count() == 9 and table.pending_count() == 0
