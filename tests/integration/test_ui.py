"""The browser chat in a real browser: Debian's chromium driven by Playwright.

The app runs as the user starts it (`akhbar chat` in a subprocess, real models, real
Chroma) on 127.0.0.1. The page is waited for with ``load`` (Gradio's heartbeat stream
never idles). Set AKHBAR_UPDATE_SCREENSHOT=1 to refresh docs/screenshot.png.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bibtexparser
import pytest
import rispy

from rag import EXPORT_FORMATS, Config
from tests.conftest import AR_QUESTION, EN_QUESTION, REPO, SEEDS, stop
from tests.support.csl import csl_render as _csl_render

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ANSWER_TIMEOUT_MS = 240_000

HOSTILE = """مهرجان التمور في بريدة <script>window.__pwned=1</script> ![صورة](http://evil.example/p.png)
بريدة - وكالات
اختتم مهرجان التمور في مدينة بريدة أعماله يوم الخميس بعد بيع 1500 طن من التمور خلال عشرة أيام.
وقال المنظمون إن <img src=x onerror="window.__pwned=2"> عدد الزوار تجاوز مئة ألف زائر من داخل المملكة وخارجها.
وأضافوا أن المهرجان سيعود في الموسم المقبل بمشاركة أوسع من المزارعين.
"""

pytestmark = pytest.mark.slow


STARTUP: list[str] = []  # what the app printed before its URL


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, prepared_config: Config) -> Iterator[str]:
    home = tmp_path_factory.mktemp("ui-home")
    # Ollama is "not running" on a port held bound (never listened on) for the app's life.
    no_ollama = socket.socket()
    no_ollama.bind(("127.0.0.1", 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_") or k == "AKHBAR_CHROMA_URL"}
    env.update({"AKHBAR_HOME": str(home), "AKHBAR_MODELS_DIR": str(prepared_config.models_dir),
                "AKHBAR_LLM_BACKEND": "llamacpp", "PYTHONPATH": str(REPO), "GRADIO_ANALYTICS_ENABLED": "False",
                "OLLAMA_HOST": f"http://127.0.0.1:{no_ollama.getsockname()[1]}",
                "TMPDIR": str(tmp_path_factory.mktemp("ui-tmp"))})
    ingest = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(SEEDS), "--quiet"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert ingest.returncode == 0, ingest.stderr
    # Port 0: the app takes whatever port the kernel gives it and prints its URL.
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "chat", "--port", "0"], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        STARTUP.clear()
        while not (m := re.search(r"running on (http://127\.0\.0\.1:\d+/)", line := proc.stdout.readline())):
            assert line, ("the app exited", STARTUP)
            STARTUP.append(line)
        yield m.group(1)
    finally:
        # Stopped as `timeout` stops it: TERM to the app and, at once, to its process group,
        # so the second arrives while the first is shutting it down.
        proc.terminate()
        proc.terminate()
        try:
            rest = proc.communicate(timeout=15)[0] or ""
        except subprocess.TimeoutExpired:
            stop(proc)
            rest = ""
        no_ollama.close()
    assert "Traceback" not in rest, rest
    # The app's export folder goes with it (the tests download exports, so it existed).
    left = list(Path(env["TMPDIR"]).glob("akhbar-exports-*"))
    assert proc.returncode == 0 and not left, (proc.returncode, left)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium); .ci/run installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def session(browser: Any, app_url: str) -> Iterator[dict[str, Any]]:
    """One browser session used in order by the tests below; records every request."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(app_url, wait_until="load")
    page.wait_for_selector("#akhbar-question textarea")
    yield {"page": page, "requests": requests, "ctx": ctx, "url": app_url}
    ctx.close()


def ask(page: Any, question: str, turn: int) -> Any:
    page.fill("#akhbar-question textarea", question)
    page.click("#akhbar-send")
    # The finished turn is the bot message with a meta line; the draft has none.
    page.wait_for_function("n => document.querySelectorAll('.akhbar-msg.bot .meta').length >= n", arg=turn,
                           timeout=ANSWER_TIMEOUT_MS)
    return page.locator(".akhbar-msg.bot").nth(turn - 1)


def test_arabic_question_rtl_sources_quote_and_marker(session: dict[str, Any], tmp_path: Path) -> None:
    page = session["page"]
    # The question box follows the direction of what is typed.
    page.fill("#akhbar-question textarea", "")
    page.type("#akhbar-question textarea", "منذ")
    assert page.eval_on_selector("#akhbar-question textarea", "e => getComputedStyle(e).direction") == "rtl"
    msg = ask(page, AR_QUESTION, 1)
    assert "2017" in msg.inner_text()
    assert msg.evaluate("e => getComputedStyle(e).direction") == "rtl"
    user = page.locator(".akhbar-msg.user").first
    assert user.evaluate("e => getComputedStyle(e).direction") == "rtl"
    card = page.locator(".akhbar-card").first
    card.wait_for()
    assert card.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert "موسكو" in card.locator("h4").inner_text()
    assert "2017" in card.locator("mark").first.inner_text()
    assert "السيدميداني" in card.inner_text()
    # [n] in the answer brings its card into view.
    page.evaluate("document.getElementById('akhbar-sources').scrollTop = 0")
    marker = msg.locator("a.cite").first
    target = marker.get_attribute("data-target")
    marker.click()
    page.wait_for_function("id => document.getElementById(id).classList.contains('flash')", arg=target)
    box = page.locator(f"#{target}").bounding_box()
    assert box is not None and 0 <= box["y"] < 1000
    # The full article opens from the card.
    card.locator("summary").click()
    assert "أستانا" in card.locator(".fulltext").inner_text()
    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot))
    if os.environ.get("AKHBAR_UPDATE_SCREENSHOT"):
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copy(shot, REPO / "docs" / "screenshot.png")


def test_the_app_loads_its_models_before_it_shows_its_url(session: dict[str, Any]) -> None:
    """The warm start: the embedding model, the LLM and the prompt prefix are loaded before
    the URL is printed (the first answer's speed against a warm one is in make bench)."""
    warm = [line for line in STARTUP if "models loaded and the prompt primed" in line]
    assert warm and "llm.backend = llamacpp" in warm[0], STARTUP


def test_english_question_ltr(session: dict[str, Any]) -> None:
    page = session["page"]
    msg = ask(page, EN_QUESTION, 2)
    assert "22" in msg.inner_text()
    assert msg.evaluate("e => getComputedStyle(e).direction") == "ltr"
    assert page.locator(".akhbar-card").count() >= 2  # cards of both turns


def _choose(page: Any, dropdown: str, label: str) -> None:
    page.click(f"#{dropdown} input")
    exact = page.locator(f'#{dropdown} [role=option][aria-label="{label}"]')
    (exact if exact.count() else page.locator(f"#{dropdown} [role=option]", has_text=label)).first.click()


def _download(page: Any, button: str, tmp: Path, wanted: str) -> str:
    """Download from ``button`` once it offers the file ``wanted`` (the format change
    re-points the buttons asynchronously)."""
    for _ in range(30):
        with page.expect_download(timeout=30_000) as info:
            page.click(f"#{button}")
        name = info.value.suggested_filename
        if name == wanted:
            path = tmp / name
            info.value.save_as(str(path))
            return path.read_text(encoding="utf-8")
        page.wait_for_timeout(500)
    raise AssertionError(f"{button} never offered {wanted}")


def test_every_export_downloads_and_parses(session: dict[str, Any], tmp_path: Path) -> None:
    page = session["page"]
    ext = {"csl-json": ".json", "bibtex": ".bib", "ris": ".ris", "csv": ".csv", "markdown": ".md", "json": ".json"}
    assert set(ext) == set(EXPORT_FORMATS)
    for fmt in ("bibtex", "ris", "csv", "markdown", "json", "csl-json"):
        _choose(page, "akhbar-export-format", fmt)
        answer = _download(page, "akhbar-dl-answer", tmp_path, f"akhbar-answer-2-{fmt}{ext[fmt]}")
        conv = _download(page, "akhbar-dl-conversation", tmp_path, f"akhbar-conversation-2-{fmt}{ext[fmt]}")
        if fmt == "csl-json":
            assert any("موسكو" in r for r in _csl_render(answer))
            assert json.loads(conv)[0]["title"].startswith("موسكو")
        elif fmt == "bibtex":
            lib = bibtexparser.parse_string(conv)
            assert not lib.failed_blocks and lib.entries[0].fields_dict["title"].value.strip("{}").startswith("موسكو")
        elif fmt == "ris":
            assert rispy.loads(answer)[0]["title"].startswith("موسكو")
        elif fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(conv)))
            assert {r["turn"] for r in rows} == {"1", "2"}
        elif fmt == "markdown":
            assert "[^1]" in answer and "[^t1-1]" in conv
        else:
            assert json.loads(answer)["question"] == EN_QUESTION
            assert [t["question"] for t in json.loads(conv)["turns"]] == [AR_QUESTION, EN_QUESTION]


def test_sessions_do_not_share_history(browser: Any, session: dict[str, Any]) -> None:
    ctx = browser.new_context()
    try:
        other = ctx.new_page()
        other.goto(session["url"], wait_until="load")
        other.wait_for_selector("#akhbar-chat-log")
        assert other.locator(".akhbar-msg").count() == 0
        assert session["page"].locator(".akhbar-msg.user").count() == 2
    finally:
        ctx.close()


def test_who_published_it_is_answered_from_the_archive_in_the_chat(browser: Any, session: dict[str, Any]) -> None:
    """A follow-up about the coverage lists the paper(s) of the story in focus, cited."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(session["url"], wait_until="load")
        page.wait_for_selector("#akhbar-question textarea")
        assert "2017" in ask(page, AR_QUESTION, 1).inner_text()
        who = ask(page, "من نشر هذا الخبر؟", 2)
        assert "لم ينشره في هذا الأرشيف إلا" in who.inner_text() and who.locator("a.cite").count() >= 1
        assert who.evaluate("e => getComputedStyle(e).direction") == "rtl"
        which = ask(page, "Which newspapers reported it?", 3)
        assert "carried it in this archive" in which.inner_text(), which.inner_text()
    finally:
        ctx.close()


FOLLOW_UPS = ("وما الدول الثلاث الضامنة؟", "كم اجتماعًا عقد بصيغة أستانا؟")


@pytest.mark.parametrize("round_", range(3))  # the loss was intermittent: the same race, three times
def test_questions_sent_while_an_answer_finishes_are_queued_in_order_and_nothing_typed_is_lost(
        browser: Any, session: dict[str, Any], round_: int) -> None:
    """The second question goes in as soon as the first answer's text shows, the third while
    the second is still being answered; each shows at once, all three are answered in
    order in one conversation, and what is typed in the box meanwhile stays there."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(session["url"], wait_until="load")
        page.wait_for_selector("#akhbar-question textarea")
        box = "#akhbar-question textarea"
        page.fill(box, AR_QUESTION)
        page.click("#akhbar-send")
        # The first answer's text appears (its draft, or the finished turn): send at once.
        page.wait_for_function("() => [...document.querySelectorAll('.akhbar-msg.bot')]"
                               ".some(m => /\\d/.test(m.innerText))", timeout=ANSWER_TIMEOUT_MS)
        for n, q in enumerate(FOLLOW_UPS, start=2):
            page.fill(box, q)
            page.click("#akhbar-send")
            # Shown at once, before any answer to it.
            page.wait_for_function("n => document.querySelectorAll('.akhbar-msg.user').length >= n", arg=n,
                                   timeout=5_000)
            assert page.input_value(box) == ""
        draft = "مسودة سؤال لم يُرسل بعد"
        page.fill(box, draft)
        page.wait_for_function("() => document.querySelectorAll('.akhbar-msg.bot .meta, .akhbar-msg.error')"
                               ".length >= 3", timeout=ANSWER_TIMEOUT_MS * 2)
        assert page.locator(".akhbar-msg.error").count() == 0, page.inner_text("#akhbar-chat-log")
        users = [u.inner_text().strip() for u in page.locator(".akhbar-msg.user").all()]
        assert users == [AR_QUESTION, *FOLLOW_UPS], users
        bots = [b.inner_text() for b in page.locator(".akhbar-msg.bot").all()]
        assert len(bots) == 3 and "2017" in bots[0], bots
        assert "روسيا" in bots[1] and "تركيا" in bots[1], bots
        assert page.locator(".akhbar-msg.waiting, .akhbar-msg.draft").count() == 0
        assert page.input_value(box) == draft, round_
        # One conversation: the download holds all three turns.
        assert page.locator("#akhbar-dl-conversation").is_enabled()
    finally:
        ctx.close()


def _upload(page: Any, path: Path, shown: str) -> None:
    """Upload ``path`` in the Corpus tab, ingest it, and wait until ``shown`` is listed."""
    page.click("button[role=tab]:has-text('Corpus')")
    page.set_input_files("#akhbar-upload input[type=file]", str(path))
    page.wait_for_function("() => !document.querySelector('#akhbar-upload .uploading')", timeout=30_000)
    page.click("#akhbar-ingest")
    page.wait_for_function("s => document.querySelector('#akhbar-docs')?.innerText.includes(s)", arg=shown,
                           timeout=120_000)


def test_upload_lists_hostile_article_inert_and_remove(session: dict[str, Any], tmp_path: Path) -> None:
    page = session["page"]
    article = tmp_path / "tamr.txt"
    article.write_text(HOSTILE, encoding="utf-8")
    _upload(page, article, "بريدة")
    docs_text = page.inner_text("#akhbar-docs")
    assert "<script>" in docs_text  # shown as text
    status = page.inner_text("#akhbar-ingest-status")
    assert "1 documents" in status and "get their vectors behind" in status, status
    # The vectors are computed behind: after a tick of the tab's timer, the progress line is
    # there until they are all in, then gone (a phase that never ran would stay "not running").
    page.wait_for_timeout(2500)
    page.wait_for_function("() => (document.querySelector('#akhbar-vector-status')?.innerText || '').trim() === ''",
                           timeout=120_000)
    assert page.locator("#akhbar-docs script, #akhbar-docs img").count() == 0
    # Ask about it: the card shows the article's markup as text and runs nothing.
    page.click("button[role=tab]:has-text('Chat')")
    page.click("#akhbar-new")
    page.wait_for_function("() => document.querySelectorAll('.akhbar-msg').length === 0")
    msg = ask(page, "كم طنًا من التمور بيع في مهرجان بريدة؟", 1)
    assert "1500" in msg.inner_text()
    cards = page.locator(".akhbar-card", has_text="بريدة")
    assert cards.count() >= 1
    cards.first.locator("summary").click()
    full = cards.first.locator(".fulltext").inner_text()
    assert "<img src=x" in full
    assert page.locator("#akhbar-sources script, #akhbar-sources img, #akhbar-chat-log img").count() == 0
    assert page.evaluate("() => window.__pwned === undefined")
    # Remove it again from the corpus tab.
    page.click("button[role=tab]:has-text('Corpus')")
    _choose(page, "akhbar-doc-pick", "بريدة")
    page.click("#akhbar-remove")
    page.wait_for_function("() => !document.querySelector('#akhbar-docs')?.innerText.includes('بريدة')",
                           timeout=60_000)
    assert "Removed 1 document" in page.inner_text("#akhbar-ingest-status")


def test_an_uploaded_pdf_is_answered_with_its_page_on_the_card(session: dict[str, Any], tmp_path: Path) -> None:
    from tests.support.documents import bulletin_pdf

    page = session["page"]
    pdf = tmp_path / "bulletin.pdf"
    bulletin_pdf(pdf, browser=page.context.browser)
    _upload(page, pdf, "Port bulletin")
    assert "0 errors" in page.inner_text("#akhbar-ingest-status")
    page.click("button[role=tab]:has-text('Chat')")
    page.click("#akhbar-new")
    page.wait_for_function("() => document.querySelectorAll('.akhbar-msg').length === 0")
    msg = ask(page, "How many containers did the port of Jeddah handle in March?", 1)
    assert "4,812" in msg.inner_text()
    card = page.locator(".akhbar-card", has_text="Port bulletin").first
    assert "p. 2" in card.locator(".byline").first.inner_text()
    page.click("button[role=tab]:has-text('Corpus')")
    _choose(page, "akhbar-doc-pick", "Port bulletin")
    page.click("#akhbar-remove")
    page.wait_for_function("() => !document.querySelector('#akhbar-docs')?.innerText.includes('Port bulletin')",
                           timeout=60_000)


def test_bad_input_shows_a_message_not_a_traceback(session: dict[str, Any]) -> None:
    page = session["page"]
    page.click("button[role=tab]:has-text('Chat')")
    page.click("#akhbar-settings .label-wrap")
    page.fill("#akhbar-from input, #akhbar-from textarea", "last tuesday")
    page.fill("#akhbar-question textarea", "ما الجديد؟")
    page.click("#akhbar-send")
    page.wait_for_selector(".akhbar-msg.error", timeout=60_000)
    text = page.inner_text(".akhbar-msg.error")
    assert "YYYY-MM-DD" in text and "Traceback" not in text
    page.fill("#akhbar-from input, #akhbar-from textarea", "")
    # Ollama chosen in the settings but not running (nothing listens on the app's OLLAMA_HOST).
    page.click("#akhbar-backend label:has-text('Ollama')")
    page.fill("#akhbar-question textarea", "ما الجديد؟")
    page.click("#akhbar-send")
    # Each failed question keeps its message where it was asked: the second error is the last one.
    page.wait_for_function("() => document.querySelectorAll('.akhbar-msg.error').length >= 2 && "
                           "[...document.querySelectorAll('.akhbar-msg.error')].pop().innerText.includes('Ollama')",
                           timeout=60_000)
    text = page.locator(".akhbar-msg.error").last.inner_text()
    assert "Ollama" in text and "Traceback" not in text, text
    assert "YYYY-MM-DD" in page.locator(".akhbar-msg.error").first.inner_text()
    page.click("#akhbar-backend label:has-text('embedded')")


def test_time_words_show_a_chip_and_removing_it_asks_again_over_every_date(session: dict[str, Any],
                                                                          tmp_path: Path) -> None:
    """"الأسبوع الماضي" limits the answer to last week's article and shows a removable chip;
    removing it asks the same question again over every date, in place of the answer."""
    from datetime import date, timedelta

    page = session["page"]
    recent, old = date.today() - timedelta(days=3), date.today() - timedelta(days=40)
    rows = [
        {"title": "حمى الضنك في جازان هذا الأسبوع", "date": recent.isoformat(), "site": "okaz",
         "text": "قالت وزارة الصحة إن عدد حالات الإصابة بحمى الضنك في جازان بلغ 120 حالة خلال أسبوع."},
        {"title": "حمى الضنك في جازان الشهر الماضي", "date": old.isoformat(), "site": "alriyadh",
         "text": "قالت وزارة الصحة إن عدد حالات الإصابة بحمى الضنك في جازان بلغ 45 حالة خلال شهر."},
    ]
    dump = tmp_path / "dengue.jsonl"
    dump.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    page.click("button[role=tab]:has-text('Corpus')")
    page.set_input_files("#akhbar-upload input[type=file]", str(dump))
    page.wait_for_function("() => !document.querySelector('#akhbar-upload .uploading')", timeout=30_000)
    page.click("#akhbar-ingest")
    page.wait_for_function("() => /documents|Error/.test(document.querySelector('#akhbar-ingest-status')?.innerText"
                           " || '')", timeout=240_000)
    status = page.inner_text("#akhbar-ingest-status")
    assert "0 errors" in status, status
    assert all(str(r["title"]) in page.inner_text("#akhbar-docs") for r in rows)
    page.click("button[role=tab]:has-text('Chat')")
    page.click("#akhbar-new")
    page.wait_for_function("() => document.querySelectorAll('.akhbar-msg').length === 0")
    msg = ask(page, "كم بلغ عدد حالات حمى الضنك في جازان الأسبوع الماضي؟", 1)
    chip = page.locator("#akhbar-window-chip")
    chip.wait_for(state="visible", timeout=30_000)
    label = chip.inner_text()
    week = f"{(date.today() - timedelta(days=7)).isoformat()} و{(date.today() - timedelta(days=1)).isoformat()}"
    assert "✕" in label and "الأسبوع الماضي" in label and week in label, label
    assert week in msg.inner_text()  # the answer states the window too
    panel = page.inner_text("#akhbar-sources-panel")
    assert rows[0]["title"] in panel and rows[1]["title"] not in panel, panel
    # Removing the chip: the same question over every date, in place of the first answer.
    chip.click()
    # Done when the chip is gone and the one answer is finished again (its draft has no meta line).
    page.wait_for_function(
        "() => { const c = document.querySelector('#akhbar-window-chip');"
        " return (!c || c.offsetParent === null) && document.querySelectorAll('.akhbar-msg.bot .meta').length === 1; }",
        timeout=ANSWER_TIMEOUT_MS)
    assert not chip.is_visible()
    assert page.locator(".akhbar-msg.user").count() == 1 and page.locator(".akhbar-msg.bot").count() == 1
    assert week not in page.locator(".akhbar-msg.bot").first.inner_text()
    # Leave the corpus as the other tests expect it.
    page.click("button[role=tab]:has-text('Corpus')")
    for row in rows:
        _choose(page, "akhbar-doc-pick", str(row["title"]))
        page.click("#akhbar-remove")
        page.wait_for_function("t => !document.querySelector('#akhbar-docs')?.innerText.includes(t)",
                               arg=row["title"], timeout=60_000)
    page.click("button[role=tab]:has-text('Chat')")


def test_five_browser_sessions_at_once_no_cross_talk(browser: Any, session: dict[str, Any]) -> None:
    """Five people ask at the same moment: every one gets an answer to their own question,
    in their own page only (the answers queue for the one CPU model)."""
    # Factoid questions (copied answers): what is tested is who gets which answer, not the
    # free reader, whose long replies would only make the queue slower.
    questions = [AR_QUESTION, EN_QUESTION, "متى بدأت عملية أستانا؟", "Who is the Russian foreign ministry spokeswoman?",
                 "كم اجتماعًا عقد بصيغة أستانا؟"]
    contexts = [browser.new_context() for _ in questions]
    try:
        pages = [c.new_page() for c in contexts]
        for p in pages:
            p.goto(session["url"], wait_until="load")
            p.wait_for_selector("#akhbar-question textarea")
        for p, q in zip(pages, questions):
            p.fill("#akhbar-question textarea", q)
        for p in pages:
            p.click("#akhbar-send")
        for p, q in zip(pages, questions):
            p.wait_for_function("() => document.querySelectorAll('.akhbar-msg.bot .meta, .akhbar-msg.error')"
                                ".length >= 1", timeout=ANSWER_TIMEOUT_MS * 2)
            assert p.locator(".akhbar-msg.error").count() == 0, p.inner_text("#akhbar-chat-log")
            users = [u.inner_text().strip() for u in p.locator(".akhbar-msg.user").all()]
            assert users == [q], users
            assert p.locator(".akhbar-msg.bot").count() == 1
    finally:
        for c in contexts:
            c.close()


def test_nothing_loads_from_outside_127_0_0_1(session: dict[str, Any]) -> None:
    hosts = {u.split("/")[2] for u in session["requests"] if u.startswith(("http://", "https://", "ws"))}
    assert hosts == {session["url"].split("/")[2]}, hosts
