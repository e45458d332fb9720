"""A newsroom archive against the real store: dedupe, incremental updates, feeds over HTTP,
bad input, and crash safety with a real process killed mid-ingest."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bench.synth import write_archive
from rag import Akhbar, Config
from tests.conftest import REPO, SEEDS, copy_seeds

SEED_TEXT = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")


DUMP = [  # SaudiNewsNet's layout: the crawl time is the only date, the site is the paper's id
    {"source": "okaz", "url": "http://okaz.com.sa/new/1", "date_extracted": "2015-08-10 18:53:03",
     "title": "افتتاح مهرجان التمور في بريدة", "author": "",
     "content": "افتتح أمير منطقة القصيم مساء أمس مهرجان بريدة للتمور بمشاركة أكثر من ألفي مزارع من مختلف المحافظات."},
    {"source": "aawsat", "url": "http://aawsat.com/2", "date_extracted": "2015-08-03 07:00:00",
     "title": "قمة خليجية في الرياض", "author": "مراسل",
     "content": "عقدت في الرياض قمة خليجية طارئة بحضور القادة لبحث الأوضاع في اليمن وأمن الملاحة في المنطقة."},
]
UNDATED = {"title": "ندوة عن التراث",
           "text": "نظمت الجمعية ندوة عن التراث العمراني في المنطقة الشرقية شارك فيها باحثون."}


def _dump(folder: Path) -> Path:
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "2015-08-10.zip", "w") as zf:
        zf.writestr("2015-08-10.json", json.dumps(DUMP, ensure_ascii=False))
    (folder / "extra.jsonl").write_text(json.dumps(UNDATED, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def test_a_real_dump_gets_dates_and_site_names_and_date_filters_count_the_undated(
        bot: Akhbar, tmp_path: Path) -> None:
    from rag import Filters
    from tests.conftest import ScriptedLLM

    report = bot.ingest(_dump(tmp_path / "dump"))
    assert report.documents == 3 and report.dated == 2, report.to_dict()
    notes = dict(report.notes)
    assert "date ← date_extracted (2/2)" in notes[str((tmp_path / "dump" / "2015-08-10.zip").resolve())
                                                  + "!2015-08-10.json"]
    assert "No dates" in notes[str((tmp_path / "dump" / "extra.jsonl").resolve())]
    docs = {d.title: d for d in bot.documents()}
    okaz = docs["افتتاح مهرجان التمور في بريدة"]
    assert (okaz.site, okaz.date) == ("عكاظ", "2015-08-10T18:53:03")
    assert docs["قمة خليجية في الرياض"].site == "الشرق الأوسط" and docs["ندوة عن التراث"].date == ""
    # The paper's id, its host and its name all filter to it.
    for site in ("okaz", "okaz.com.sa", "عكاظ"):
        hits = bot.retrieve("مهرجان التمور", top_k=5, filters=Filters(sites=(site,)))
        assert hits and {h.chunk.title for h in hits} == {okaz.title}, site
    st = bot.stats()
    assert (st.documents, st.dated_documents) == (3, 2) and st.to_dict()["dated_documents"] == 2
    # A date filter cannot see the undated document, and the answer says so.
    reply = ["افتتح أمير منطقة القصيم مهرجان بريدة للتمور [1]."]
    asking = Akhbar(bot.config, embedder=bot.embedder, llm=ScriptedLLM(reply, reply))  # type: ignore[arg-type]
    dated = asking.ask("ماذا افتتح أمير القصيم؟", filters=Filters(date_from="2015-08-01"))
    assert dated.diagnostics.undated_documents == 1 and dated.notes and "1 من 3" in dated.notes[0]
    assert dated.to_dict()["notes"] == list(dated.notes)
    plain = asking.ask("ماذا افتتح أمير القصيم؟")
    assert plain.notes == () and plain.diagnostics.undated_documents is None


def test_typed_library_results_round_trip_through_to_dict(bot: Akhbar, tmp_path: Path) -> None:
    from rag import ArticleText, Document, Removed

    bot.ingest(_dump(tmp_path / "dump"))
    docs = bot.documents()
    assert all(isinstance(d, Document) for d in docs)
    d = next(d for d in docs if d.site == "عكاظ")
    as_dict = d.to_dict()
    assert as_dict["doc_id"] == d.doc_id and as_dict["chunks"] == d.chunks >= 1
    assert as_dict["sources"] == [{"source": s.source, "relation": s.relation, "title": s.title, "site": s.site,
                                   "date": s.date, "url": s.url, "doc_id": d.doc_id} for s in d.sources]
    # Each source keeps its own copy's metadata (for "also reported by").
    assert (d.sources[0].site, d.sources[0].url) == ("عكاظ", "http://okaz.com.sa/new/1")
    art = bot.article(d.doc_id)
    assert isinstance(art, ArticleText) and "مهرجان بريدة للتمور" in art.text
    at = DUMP[0]["content"].index("مهرجان")
    assert art.text[art.offset(at) or 0:].startswith("مهرجان")  # offsets into the original map onto text
    assert art.to_dict()["text"] == art.text and art.to_dict()["sources"] == [s.source for s in d.sources]
    found = bot.doctor(repair=False)
    assert found.consistent and found.found.documents == 3 and found.to_dict()["found"]["documents"] == 3
    removed = bot.remove(d.doc_id)
    assert isinstance(removed, Removed) and removed.documents == (d.doc_id,) and removed
    assert removed.to_dict() == {"documents": [d.doc_id], "sources": [s.source for s in d.sources]}
    assert not bot.remove(d.doc_id)


def test_duplicates_are_stored_once_with_every_source(bot: Akhbar, tmp_path: Path) -> None:
    corpus = copy_seeds(tmp_path / "corpus")
    # The same story, re-saved by another site in Windows-1256 with different spacing.
    (corpus / "mirror.txt").write_bytes(SEED_TEXT.replace("\n", "\r\n").encode("cp1256", errors="ignore"))
    # Syndicated copy with small edits: a changed phrase and an added credit line.
    edited = SEED_TEXT.replace("اليوم الأربعاء", "يوم الأربعاء").replace("ثاني كبرى", "ثاني أكبر")
    (corpus / "wire.txt").write_text(edited + "\nالمصدر: وكالات\n", encoding="utf-8")
    report = bot.ingest(corpus)
    assert report.documents == 3 and report.duplicates == 1 and report.near_duplicates == 1, report.to_dict()
    docs = bot.documents()
    assert len(docs) == 1
    relations = sorted(s.relation for s in docs[0].sources)
    assert relations == ["duplicate", "near-duplicate", "original"]
    assert bot.store.count() == report.new_chunks
    again = bot.ingest(corpus)
    assert again.summary() == "3 documents, 0 new chunks, 3 skipped, 0 errors"


def test_prune_and_remove(bot: Akhbar, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    files = write_archive(corpus, 4)
    copy = corpus / "copy_of_0.txt"
    copy.write_bytes(files[0].read_bytes())
    bot.ingest(corpus)
    assert len(bot.documents()) == 4
    files[0].unlink()  # its story survives through the copy
    files[1].unlink()
    report = bot.ingest(corpus, prune=True)
    assert report.pruned == 1
    docs = bot.documents()
    assert len(docs) == 3
    survivor = next(d for d in docs if d.sources[0].source == str(copy.resolve()))
    assert [s.source for s in survivor.sources] == [str(copy.resolve())]
    before = bot.store.count()
    removed = bot.remove(str(files[2]))
    assert len(removed.documents) == 1 and len(bot.documents()) == 2 and bot.store.count() < before
    target = next(d.doc_id for d in bot.documents() if d.doc_id != survivor.doc_id)
    assert bot.remove(target).documents == (target,)
    assert [d.doc_id for d in bot.documents()] == [survivor.doc_id]
    assert not bot.remove("no-such-doc") and bot.remove("no-such-doc").to_dict() == {"documents": [], "sources": []}
    claimed = set()
    for d in bot.documents():
        claimed |= bot.store.ids_for_doc(d.doc_id)
    assert claimed == set(bot.store.all_ids())  # no orphan vectors


def test_metadata_reaches_the_chunks(bot: Akhbar, tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps({
        "title": "Ankara talks", "maintext": "The foreign ministers of Turkey and Iran met in Ankara on Monday. "
        "They agreed to convene the Astana format urgently.", "date_publish": "2024-12-02 09:00:00",
        "url": "https://wire.example/ankara", "source_domain": "wire.example", "authors": ["A. Writer"]}) + "\n")
    bot.ingest(corpus)
    [hit, *_] = bot.retrieve("Where did the ministers meet?")
    c = hit.chunk
    assert (c.title, c.byline, c.site, c.url, c.language) == (
        "Ankara talks", "A. Writer", "wire.example", "https://wire.example/ankara", "en")
    assert c.date == "2024-12-02T09:00:00" and c.source_path.endswith("a.jsonl#1")


@pytest.fixture()
def news_site(tmp_path: Path) -> Any:
    """A local HTTP server with a feed and the pages it links to."""
    site = tmp_path / "site"
    site.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(site)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    page = ("<html><head><title>{t}</title><meta name='author' content='مراسلنا'></head><body><article>"
            "<h1>{t}</h1><p>{p}</p><p>وأضاف المصدر أن المحادثات ستستأنف الأسبوع المقبل في العاصمة.</p>"
            "</article></body></html>")
    (site / "a1.html").write_text(page.format(t="اجتماع عاجل في أنقرة",
                                              p="اتفق وزيرا الخارجية التركي والإيراني على اجتماع عاجل في أنقرة."),
                                  encoding="utf-8")
    (site / "feed.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>
<title>وكالة الاختبار</title>
<item><title>اجتماع عاجل في أنقرة</title><link>{base}/a1.html</link><pubDate>Mon, 02 Dec 2024 09:00:00 GMT</pubDate>
<description>ملخص قصير.</description></item>
<item><title>صفحة مفقودة</title><link>{base}/missing.html</link><description>ملخص الخبر المفقود من الموقع.</description>
</item></channel></rss>""", encoding="utf-8")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_feed_url_fetches_linked_pages(bot: Akhbar, news_site: str, refused_url: str) -> None:
    report = bot.ingest(f"{news_site}/feed.xml")
    docs = {d.title: d for d in bot.documents()}
    assert "اجتماع عاجل في أنقرة" in docs, report.to_dict()
    page_doc = docs["اجتماع عاجل في أنقرة"]
    assert page_doc.url == f"{news_site}/a1.html" and page_doc.date == "2024-12-02T09:00:00+00:00"
    assert page_doc.byline == "مراسلنا" and page_doc.site == "وكالة الاختبار"
    hits = bot.retrieve("أين سيعقد الاجتماع العاجل؟")
    assert any("الأسبوع المقبل" in h.chunk.text for h in hits)  # the page text, not just the summary
    # The missing page is reported, and its entry falls back to the feed summary.
    assert any("missing.html" in s and "HTTP 404" in r for s, r in report.errors)
    assert "صفحة مفقودة" in docs
    unreachable = bot.ingest(f"{refused_url}/feed.xml")
    assert unreachable.documents == 0 and "cannot fetch" in unreachable.errors[0][1]


def _cli(home: Path, *args: str, cfg: Config) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AKHBAR_HOME": str(home), "AKHBAR_MODELS_DIR": str(cfg.models_dir),
           "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600)


@pytest.mark.store
def test_bad_input_batch_via_cli(tmp_path: Path, prepared_config: Config) -> None:
    corpus = copy_seeds(tmp_path / "corpus")
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (corpus / "truncated.html").write_text("<html><body><article><p>Half a sent")
    (corpus / "lines.jsonl").write_text('{"title": "Good", "text": "A good line of news text."}\n{"title": oops}\n')
    (corpus / "broken.json").write_text('{"title": "x", "text": ')
    with open(corpus / "huge.txt", "wb") as f:
        f.truncate(200 * 1024 * 1024)
    home = tmp_path / "home"
    r = _cli(home, "ingest", str(corpus), "--quiet", cfg=prepared_config)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 6, lines
    text = "\n".join(errors)
    for needle in ("empty.txt: the file is empty", "binary.txt: looks like a binary file",
                   "truncated.html: no article text", "lines.jsonl#2: line 2: invalid JSON",
                   "broken.json: invalid JSON at line 1", "huge.txt: file too large (200.0 MB > 50.0 MB limit)"):
        assert needle in text, (needle, text)
    assert lines[-1] == "2 documents, " + lines[-1].split(", ", 1)[1] and lines[-1].endswith("0 skipped, 6 errors")
    again = _cli(home, "ingest", str(corpus), "--quiet", cfg=prepared_config)
    assert again.stdout.strip().splitlines()[-1] == "2 documents, 0 new chunks, 2 skipped, 6 errors"
    nothing = _cli(home, "ingest", str(corpus / "empty.txt"), str(corpus / "binary.txt"), cfg=prepared_config)
    assert nothing.returncode == 1 and "Traceback" not in nothing.stderr


def _snapshot(home: Path, collection: str = "akhbar") -> dict[str, Any]:
    db = sqlite3.connect(home / "manifest.sqlite")
    docs = sorted(db.execute("SELECT doc_id, content_hash, chunk_ids, status FROM documents WHERE collection=?",
                             (collection,)))
    sources = sorted(db.execute("SELECT source, doc_id, relation FROM sources WHERE collection=?", (collection,)))
    db.close()
    # Through the store adapter, so the server-mode pass reads the server's vectors.
    from tests.conftest import base_config

    store = Akhbar(base_config(home).with_overrides(store={"collection": collection})).store
    got = store.get_chunks(sorted(store.all_ids()))
    chunks = sorted((cid, c.doc_id, c.text) for cid, c in got.items())
    return {"docs": docs, "sources": sources, "chunks": chunks}


def ingest_here(home: Path, corpus: Path, embedder: Any) -> Any:
    """``akhbar ingest`` as the CLI runs it (same config from the home), in this process."""
    from tests.conftest import base_config

    return Akhbar(base_config(home), embedder=embedder).ingest(corpus)


def _complete_docs(home: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{home / 'manifest.sqlite'}?mode=ro", uri=True, timeout=1)
        n = db.execute("SELECT COUNT(*) FROM documents WHERE status='complete'").fetchone()[0]
        db.close()
        return int(n)
    except sqlite3.Error:
        return 0


def paused_ingest(home: Path, corpus: Path, pause: str, cfg: Config, **env: str) -> subprocess.Popen[str]:
    """``akhbar ingest`` that stops at ``pause`` (see tests/support/paused_ingest.py) and
    waits there: read its ``PAUSED`` line, then kill it or send a line to let it go on."""
    full = {**os.environ, "AKHBAR_HOME": str(home), "AKHBAR_MODELS_DIR": str(cfg.models_dir),
            "PYTHONPATH": str(REPO), "AKHBAR_TEST_PAUSE": pause, **env}
    return subprocess.Popen([sys.executable, "-m", "tests.support.paused_ingest", str(corpus), "--quiet"], env=full,
                            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_paused(proc: subprocess.Popen[str], pause: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the process reaches the point, or exits
    assert line.strip() == f"PAUSED {pause}", (line, proc.stderr.read() if proc.stderr else "")


def archive_and_expected(tmp_path: Path, embedder: Any, n: int = 36) -> tuple[Path, dict[str, Any]]:
    """A synthetic archive of ``n`` articles, and the snapshot of an uninterrupted ingest of
    it (in this process), for a crash or a phase to be compared against."""
    corpus = tmp_path / "archive"
    write_archive(corpus, n)
    assert not ingest_here(tmp_path / "clean", corpus, embedder).errors
    return corpus, _snapshot(tmp_path / "clean")


def _stored_vectors(home: Path) -> int:
    from tests.conftest import base_config

    return Akhbar(base_config(home)).store.count()


class _Counting:
    """The real embedder, counting the passages it embeds."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.passages = inner, 0

    def embed_passages(self, texts: list[str]) -> Any:
        self.passages += len(texts)
        return self.inner.embed_passages(texts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.slow
@pytest.mark.store
def test_sigkill_in_either_phase_then_rerun_equals_uninterrupted(tmp_path: Path, prepared_config: Config,
                                                                 embedder: Any) -> None:
    # The uninterrupted run and the final rerun go through the same pipeline in this
    # process; only the runs that are killed need processes of their own.
    corpus, expected = archive_and_expected(tmp_path, embedder)
    n_docs, n_chunks = len(expected["docs"]), len(expected["chunks"])
    assert n_docs >= 30, n_docs
    assert n_chunks > 64, "the archive must fill more than two batches of each phase"

    crashed = tmp_path / "crashed"
    complete, vectors = [], []
    # Phase 1 (text): killed before any chunk is written, after the first batch's chunks but
    # before its documents are complete, and before the second batch. Phase 2 (vectors):
    # before any vector (every document complete by then), after the first batch's vectors
    # but before they are marked as stored, and before the third batch (the second of that
    # run: the first batch is found already stored and only marked). Each run resumes the last.
    for pause in ("text-before:1", "text-after:1", "text-before:2", "before:1", "after:1", "before:2"):
        proc = paused_ingest(crashed, corpus, pause, prepared_config)
        wait_paused(proc, pause)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        complete.append(_complete_docs(crashed))
        vectors.append(_stored_vectors(crashed))
    assert complete[0] == 0 and 0 < complete[2] < n_docs, complete
    assert complete[3:] == [n_docs] * 3 and vectors[:4] == [0] * 4, (complete, vectors)
    assert 0 < vectors[4] < vectors[5] < n_chunks, vectors
    counting = _Counting(embedder)
    final = ingest_here(crashed, corpus, counting)
    assert not final.errors and final.documents == 36 and final.new_chunks == 0, final.to_dict()
    # Nothing embedded twice: the final run embedded exactly the chunks the store lacked.
    assert counting.passages == n_chunks - vectors[5], (counting.passages, n_chunks, vectors)
    assert _snapshot(crashed) == expected


@pytest.mark.slow
@pytest.mark.store
def test_searchable_before_any_vector_then_the_vectors_behind_change_nothing(tmp_path: Path, prepared_config: Config,
                                                                           embedder: Any) -> None:
    from tests.conftest import base_config

    corpus, expected = archive_and_expected(tmp_path, embedder)
    clean = tmp_path / "clean"
    chunk_id, _, text = expected["chunks"][7]
    words = " ".join(text.split()[:16])
    first = [h.chunk.chunk_id for h in Akhbar(base_config(clean), embedder=embedder).retrieve(words, top_k=5)]
    assert first[0] == chunk_id

    home = tmp_path / "behind"
    counting = _Counting(embedder)
    bot = Akhbar(base_config(home), embedder=counting)
    report = bot.ingest(corpus, wait=False, behind=False)
    assert report.pending_vectors == len(expected["chunks"]) and bot.store.count() == 0
    assert bot.stats().pending_vectors == len(expected["chunks"]) and bot.doctor(repair=False).consistent
    # Answerable before a single vector: BM25 finds the chunk, and the chunks an answer
    # needed are embedded then and kept.
    # The nearest chunks by vector (the time-window check's look) also see the waiting ones,
    # given the text their vector is of.
    qv = bot.query_embedder.embed_query(words)
    assert bot.retriever.nearest(qv, 3) == []  # no vector stored yet
    assert bot.retriever.nearest(qv, 3, None, words)[0].chunk.chunk_id == chunk_id
    hits = bot.retrieve(words, top_k=5)
    assert hits[0].chunk.chunk_id == chunk_id, [h.chunk.title for h in hits]
    assert 0 < bot.store.count() <= 8 and counting.passages == bot.store.count()
    assert bot.start_vectors()
    status = bot.vectors.wait(600)
    assert not status.running and status.pending == 0 and not status.error, status
    assert counting.passages == len(expected["chunks"])  # each chunk embedded once
    assert _snapshot(home) == expected
    # Once every vector is in, retrieval is what an uninterrupted ingest gives, up to the last
    # bits of vectors embedded in other batches (bfloat16 where the CPU has it): near ties may
    # swap places.
    after = [h.chunk.chunk_id for h in bot.retrieve(words, top_k=5)]
    assert after[0] == first[0] and len(set(after) & set(first)) >= 4, (after, first)


@pytest.mark.store
def test_an_answer_while_vectors_wait_says_so(tmp_path: Path, embedder: Any) -> None:
    from tests.conftest import AR_QUESTION, ScriptedLLM, base_config, copy_seeds

    corpus = copy_seeds(tmp_path / "corpus")
    write_archive(corpus / "archive", 12)
    llm = ScriptedLLM(["منذ", " يناير 2017", " [1]", "."])
    bot = Akhbar(base_config(tmp_path / "home"), embedder=embedder, llm=llm)
    report = bot.ingest(corpus, wait=False, behind=False)
    assert report.pending_vectors == report.new_chunks > 10
    answer = bot.ask(AR_QUESTION)
    waiting = bot.vector_status().pending
    assert 0 < waiting < report.new_chunks  # what the answer needed was embedded; the rest waits
    assert answer.diagnostics.pending_vectors == waiting, answer.diagnostics
    assert f"lexical only: {waiting:,} chunks still waiting for vectors" not in answer.notes  # Arabic question
    assert any("لم تُحسب متجهاتها بعد" in n and f"{waiting:,}" in n for n in answer.notes), answer.notes
    assert "2017" in answer.text and answer.citations and "أستانا" in answer.citations[0].quote
    bot.complete_vectors()
    again = Akhbar(base_config(tmp_path / "home"), embedder=embedder,
                   llm=ScriptedLLM(["منذ", " يناير 2017", " [1]", "."])).ask(AR_QUESTION)
    assert again.diagnostics.pending_vectors is None and not any("متجهات" in n for n in again.notes)


@pytest.mark.store
def test_a_chunk_another_process_stored_is_scored_here_and_not_written_again(tmp_path: Path, embedder: Any) -> None:
    from tests.conftest import AR_QUESTION, base_config, copy_seeds

    bot = Akhbar(base_config(tmp_path / "home"), embedder=embedder)
    bot.ingest(copy_seeds(tmp_path / "corpus"), wait=False, behind=False)
    # As when `akhbar vectors` ran in another process: the table says stored, and this
    # process's embedded Chroma client does not see those vectors.
    bot.chunks.mark_embedded(list(bot.chunks.ids()))
    hits = bot.retrieve(AR_QUESTION, top_k=2)
    assert hits and "أستانا" in hits[0].chunk.text and all(0.5 < h.score <= 1.0 for h in hits), hits
    assert bot.store.count() == 0  # scored for this answer; no second writer


def test_reconcile_deletes_vectors_no_document_claims(bot: Akhbar, tmp_path: Path) -> None:
    from rag.types import Chunk

    bot.ingest(copy_seeds(tmp_path / "corpus"))
    claimed = set(bot.store.all_ids())
    orphan = Chunk(chunk_id="orphan-0000", doc_id="no-such-doc", text="نص يتيم بلا وثيقة.", index=0, start=0, end=18)
    bot.store.upsert([orphan], bot.embedder.embed_passages([orphan.text]))
    assert bot.reconcile() == {"orphan_chunks_deleted": 1, "pending_documents": 0}
    assert set(bot.store.all_ids()) == claimed
    assert bot.reconcile() == {"orphan_chunks_deleted": 0, "pending_documents": 0}
