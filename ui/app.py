"""The Gradio app behind ``akhbar chat``: chat with sources, corpus management, settings.

Thin over the Python API: every answer comes from ``Conversation.ask_stream``, every
upload goes through ``Akhbar.ingest``, every export through ``Answer.export`` /
``Conversation.export``; this module only wires widgets and formats (``ui.render``).
Each browser session gets its own ``ChatSession`` (``ui.session``: its conversation and the
questions waiting their turn) in ``gr.State``, so two people never see each other's history;
the models are loaded once per process and shared, one answer at a time.

Nothing in the page loads from outside the server: the theme uses local font names only
(no Google Fonts), analytics are off, and article text is escaped before display.
Uploads are copied into ``<data home>/uploads/`` under a cleaned file name, never written
anywhere else.
"""

from __future__ import annotations

import atexit
import logging
import re
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag import (
    EXPORT_EXTENSIONS,
    EXPORT_FORMATS,
    Akhbar,
    AkhbarError,
    Answer,
    ArticleText,
    Conversation,
    Filters,
    Timeline,
)
from ui import render
from ui.session import ChatSession

log = logging.getLogger("akhbar.ui")

BACKEND_CHOICES = [("auto", "auto"), ("Ollama", "ollama"), ("embedded (llama.cpp)", "llamacpp")]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".xml", ".rss", ".atom", ".zip", ".pdf", ".docx"]
_SAFE_NAME = re.compile(r"[^\w.\-\u0600-\u06FF]+")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
# Gradio injects a tracker for a parameter whose default is a gr.Progress.
PROGRESS = gr.Progress()


class App:
    """State shared by all sessions: the base Akhbar and its backend variants."""

    def __init__(self, bot: Akhbar) -> None:
        self.bot = bot
        self._variants: dict[tuple[str, str], Akhbar] = {}
        self._lock = threading.Lock()
        self.export_dir = Path(tempfile.mkdtemp(prefix="akhbar-exports-"))
        # Exports are per-process downloads: gone when the app exits (launch() turns a
        # SIGTERM into a normal exit so this runs then too).
        atexit.register(shutil.rmtree, self.export_dir, ignore_errors=True)

    def bot_for(self, backend: str, model: str) -> Akhbar:
        """The Akhbar answering with ``backend``/``model``; built once and reused, so the
        LLM is loaded once per process."""
        key = (backend or self.bot.config.llm.backend, (model or "").strip())
        if key == (self.bot.config.llm.backend, ""):
            return self.bot
        with self._lock:
            if key not in self._variants:
                self._variants[key] = self.bot.with_llm(key[0], key[1] or None)
            return self._variants[key]

    # ------------------------------------------------------------- answers

    def filters(self, date_from: str, date_to: str, sites: list[str] | None, langs: list[str] | None) -> Filters:
        for label, value in (("from", date_from), ("to", date_to)):
            if value and not _DATE.match(value.strip()):
                raise AkhbarError(f"date {label} must look like YYYY-MM-DD, not {value!r}")
        return Filters(date_from=(date_from or "").strip(), date_to=(date_to or "").strip(),
                       sites=tuple(sites or ()), languages=tuple(langs or ()))

    def articles_for(self, turns: list[Answer]) -> dict[str, ArticleText | None]:
        out: dict[str, ArticleText | None] = {}
        for a in turns:
            for c in a.citations:
                if c.doc_id and c.doc_id not in out:
                    try:
                        out[c.doc_id] = self.bot.article(c.doc_id)
                    except AkhbarError:
                        out[c.doc_id] = None  # removed since: the card shows the quote only
        return out

    def write_exports(self, conv: Conversation, fmt: str, session: str) -> tuple[str | None, str | None]:
        if not conv.turns:
            return None, None
        folder = self.export_dir / session
        folder.mkdir(parents=True, exist_ok=True)
        ext = EXPORT_EXTENSIONS[fmt]
        # The format is in the name: Gradio caches served files by path.
        answer_file = folder / f"akhbar-answer-{len(conv.turns)}-{fmt}.{ext}"
        answer_file.write_text(conv.turns[-1].export(fmt), encoding="utf-8")
        conv_file = folder / f"akhbar-conversation-{len(conv.turns)}-{fmt}.{ext}"
        conv_file.write_text(conv.export(fmt), encoding="utf-8")
        return str(answer_file), str(conv_file)

    def write_timeline(self, t: Timeline, fmt: str, session: str) -> str:
        folder = self.export_dir / session
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"akhbar-timeline-{len(t.entries)}-{fmt}.{EXPORT_EXTENSIONS[fmt]}"
        path.write_text(t.export(fmt), encoding="utf-8")
        return str(path)

    # -------------------------------------------------------------- corpus

    def save_uploads(self, paths: list[str]) -> list[Path]:
        """Copy uploaded files into the data dir under cleaned names."""
        folder = self.bot.config.home / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        limit = int(self.bot.config.ingest.max_file_mb * 1024 * 1024)
        most = self.bot.config.ingest.max_upload_files
        if len(paths) > most:
            raise AkhbarError(f"{len(paths)} files at once: the limit is {most} (ingest.max_upload_files); "
                              "upload a zip or use `akhbar ingest FOLDER`")
        saved = []
        for p in paths:
            src = Path(p)
            name = _SAFE_NAME.sub("_", src.name).strip("._") or "upload.txt"
            size = src.stat().st_size
            if size > limit:
                raise AkhbarError(f"{src.name}: {size / 1e6:.1f} MB is over the {limit / 1e6:.0f} MB upload limit")
            dest = folder / name
            with src.open("rb") as fin, dest.open("wb") as fout:
                while block := fin.read(1 << 20):
                    fout.write(block)
            saved.append(dest)
        return saved

    def documents_html(self) -> str:
        docs = self.bot.documents()
        if not docs:
            return '<div class="akhbar">No documents yet · لا توجد مقالات بعد</div>'
        rows = []
        for d in docs:
            title = d.title or "(untitled)"
            srcs = "<br>".join(render.esc(s.source) for s in d.sources)
            rows.append(
                f'<tr><td dir="{render.direction(title)}">{render.esc(title)}</td>'
                f'<td>{render.esc(d.date)}</td><td dir="auto">{render.esc(d.site)}</td><td>{d.chunks}</td>'
                f'<td dir="ltr" style="font-size:.8em">{srcs}</td>'
                f'<td dir="ltr"><code>{render.esc(d.doc_id)}</code></td></tr>')
        return ('<div class="akhbar"><table id="akhbar-docs"><thead><tr><th>Title</th><th>Date</th><th>Site</th>'
                '<th>Chunks</th><th>Source</th><th>Id</th></tr></thead><tbody>' + "".join(rows)
                + "</tbody></table></div>")

    def doc_choices(self) -> list[tuple[str, str]]:
        return [(f"{d.title or '(untitled)'} — {d.doc_id[:12]}", d.doc_id) for d in self.bot.documents()]

    def site_choices(self) -> list[str]:
        return sorted({d.site for d in self.bot.documents() if d.site})


def build(bot: Akhbar) -> Any:
    """The Gradio Blocks app over ``bot`` (not launched)."""
    app = App(bot)
    fmt_choices = [(f, f) for f in EXPORT_FORMATS]

    with gr.Blocks(title="Akhbar · أخبار") as demo:
        conv_state = gr.State(ChatSession())
        gr.HTML('<div class="akhbar"><h2 style="margin:0">Akhbar · أخبار</h2>'
                '<div style="opacity:.7">Questions about your news archive, answered with sources · '
                '<span dir="rtl">أسئلة عن أرشيفك الإخباري مع المصادر</span></div></div>')
        with gr.Tab("Chat · المحادثة", id="chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.HTML(render.chat_html([]), elem_id="akhbar-chat")
                    with gr.Row():
                        question = gr.Textbox(show_label=False, lines=2, scale=5, elem_id="akhbar-question",
                                              placeholder="اكتب سؤالك هنا… · Ask a question…")
                        send = gr.Button("Ask · اسأل", variant="primary", scale=1, elem_id="akhbar-send")
                    with gr.Row():
                        new_chat = gr.Button("New conversation · محادثة جديدة", size="sm", elem_id="akhbar-new")
                        fmt = gr.Dropdown(fmt_choices, value="csl-json", label="Export format · صيغة التصدير",
                                          elem_id="akhbar-export-format", scale=2)
                        dl_answer = gr.DownloadButton("Download answer", elem_id="akhbar-dl-answer",
                                                      interactive=False, size="sm")
                        dl_conv = gr.DownloadButton("Download conversation", elem_id="akhbar-dl-conversation",
                                                    interactive=False, size="sm")
                    # The date window a time expression in the last question set ("أمس" →
                    # 2015-08-09): a removable chip; removing it asks again over every date.
                    chip = gr.Button("", visible=False, size="sm", elem_id="akhbar-window-chip",
                                     elem_classes=["akhbar-chip"])
                with gr.Column(scale=2):
                    sources = gr.HTML(render.source_cards([], {}), elem_id="akhbar-sources-panel")
            with gr.Accordion("Settings · الإعدادات", open=False, elem_id="akhbar-settings"):
                with gr.Row():
                    backend = gr.Radio(BACKEND_CHOICES, value=bot.config.llm.backend, label="Backend",
                                       elem_id="akhbar-backend")
                    model = gr.Textbox(label="Ollama model (or GGUF for embedded)", value="",
                                       placeholder=bot.config.llm.ollama_model, elem_id="akhbar-model")
                    top_k = gr.Slider(1, 20, value=bot.config.retrieval.top_k, step=1,
                                      label="Passages retrieved", elem_id="akhbar-topk")
                with gr.Row():
                    date_from = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="akhbar-from")
                    date_to = gr.Textbox(label="To (YYYY-MM-DD)", elem_id="akhbar-to")
                    sites = gr.Dropdown(app.site_choices(), multiselect=True, label="Sites", elem_id="akhbar-sites")
                    langs = gr.CheckboxGroup([("Arabic", "ar"), ("English", "en")], label="Article language",
                                             elem_id="akhbar-langs")

        with gr.Tab("Timeline · التسلسل الزمني", id="timeline"):
            with gr.Row():
                t_query = gr.Textbox(show_label=False, scale=4, elem_id="akhbar-timeline-query",
                                     placeholder="موضوع أو قصة… · a topic or a story…")
                t_from = gr.Textbox(label="From (YYYY-MM-DD)", scale=1, elem_id="akhbar-timeline-from")
                t_to = gr.Textbox(label="To (YYYY-MM-DD)", scale=1, elem_id="akhbar-timeline-to")
                t_go = gr.Button("Show · اعرض", variant="primary", scale=1, elem_id="akhbar-timeline-go")
            with gr.Row():
                t_fmt = gr.Dropdown(fmt_choices, value="csl-json", label="Export format · صيغة التصدير", scale=2,
                                    elem_id="akhbar-timeline-format")
                t_dl = gr.DownloadButton("Download timeline", interactive=False, size="sm",
                                         elem_id="akhbar-timeline-dl")
            t_view = gr.HTML(render.timeline_html(None), elem_id="akhbar-timeline-panel")

        with gr.Tab("Corpus · المقالات", id="corpus"):
            with gr.Row():
                with gr.Column():
                    uploads = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, elem_id="akhbar-upload",
                                      label="Articles or a zip (txt, md, html, json, jsonl, rss, zip)")
                    ingest_btn = gr.Button("Ingest files", variant="primary", elem_id="akhbar-ingest")
                with gr.Column():
                    feed = gr.Textbox(label="Feed or article URL", elem_id="akhbar-feed",
                                      placeholder="https://example.com/rss.xml")
                    feed_btn = gr.Button("Fetch and ingest", elem_id="akhbar-fetch")
            ingest_status = gr.Markdown(elem_id="akhbar-ingest-status")
            # Filled by the timer: building the page opens no store (a busy port fails first).
            vector_status = gr.HTML("", elem_id="akhbar-vector-status")
            vector_timer = gr.Timer(2.0)
            docs = gr.HTML(app.documents_html(), elem_id="akhbar-docs-panel")
            with gr.Row():
                doc_pick = gr.Dropdown(app.doc_choices(), label="Document", elem_id="akhbar-doc-pick", scale=3)
                remove_btn = gr.Button("Remove document", variant="stop", elem_id="akhbar-remove", scale=1)

        # ------------------------------------------------------------ handlers

        def shown(sess: ChatSession, error: str = "") -> str:
            v = sess.view()
            return render.chat_html(v["turns"], v["pending"], v["draft"], error, v["waiting"], v["failed"])

        def take(q: str, sess: ChatSession) -> tuple[Any, ...]:
            """Sent: the question shows at once, waiting its turn; the box is emptied."""
            if not sess.send(q):
                return gr.update(), gr.update()
            return shown(sess), ""

        def answering(sess: ChatSession, stream: Any, generation: int, export_fmt: str, request: gr.Request
                      ) -> Iterator[tuple[Any, ...]]:
            keep = (gr.update(), gr.update())
            hidden = gr.update(visible=False)
            conv = sess.conversation
            assert conv is not None
            try:
                yield shown(sess), gr.update(), *keep, hidden
                for item in stream():
                    if isinstance(item, Answer):
                        break
                    if not sess.stream(item, generation):
                        return  # a new conversation was started meanwhile: this one is gone
                    yield shown(sess), gr.update(), *keep, hidden
            except AkhbarError as e:
                sess.finish(generation, str(e))
                yield shown(sess), gr.update(), *keep, hidden
                return
            except Exception as e:
                log.exception("answering failed")
                sess.finish(generation, f"Something went wrong: {type(e).__name__}: {e}")
                yield shown(sess), gr.update(), *keep, hidden
                return
            sess.finish(generation)
            if generation != sess.generation:
                return
            session = re.sub(r"\W", "", getattr(request, "session_hash", "") or "anon")[:32] or "anon"
            a_file, c_file = app.write_exports(conv, export_fmt, session)
            yield (shown(sess), render.source_cards(conv.turns, app.articles_for(conv.turns)),
                   gr.update(value=a_file, interactive=True), gr.update(value=c_file, interactive=True),
                   chip_update(render.window_chip(conv.turns[-1] if conv.turns else None)))

        def ask(sess: ChatSession, be: str, mdl: str, k: float, d_from: str, d_to: str,
                site_sel: list[str], lang_sel: list[str], export_fmt: str, request: gr.Request
                ) -> Iterator[tuple[Any, ...]]:
            """The oldest waiting question of this session, answered (one per ``take``)."""
            taken = sess.next()
            if taken is None:
                yield shown(sess), gr.update(), gr.update(), gr.update(), gr.update()
                return
            q, generation = taken
            if sess.conversation is None:
                sess.conversation = app.bot.conversation()
            conv = sess.conversation
            try:
                conv.filters = app.filters(d_from, d_to, site_sel, lang_sel)
                conv.stream = app.bot_for(be, mdl).stream
            except AkhbarError as e:
                sess.finish(generation, str(e))
                yield shown(sess), gr.update(), gr.update(), gr.update(), gr.update(visible=False)
                return
            yield from answering(sess, lambda: conv.ask_stream(q, int(k)), generation, export_fmt, request)

        def unwindow(sess: ChatSession, k: float, export_fmt: str, request: gr.Request) -> Iterator[tuple[Any, ...]]:
            """The chip removed: the last question again, over every date."""
            conv = sess.conversation
            if conv is None or not conv.turns or sess.current is not None:
                yield gr.update(), gr.update(), gr.update(), gr.update(), gr.update(visible=False)
                return
            with sess.lock:
                sess.current, sess.draft, generation = conv.turns[-1].question, "", sess.generation
            # Taken off the conversation now, so the draft shows the question once, not twice.
            again = conv.reask_last(int(k), time_filter=False)
            yield from answering(sess, lambda: again, generation, export_fmt, request)

        def show_timeline(q: str, d_from: str, d_to: str, export_fmt: str, request: gr.Request) -> tuple[Any, Any]:
            q = (q or "").strip()
            if not q:
                return render.timeline_html(None), gr.update(value=None, interactive=False)
            try:
                t = app.bot.timeline(q, filters=app.filters(d_from, d_to, None, None))
            except AkhbarError as e:
                return (f'<div class="akhbar akhbar-msg error" id="akhbar-timeline">{render.esc(str(e))}</div>',
                        gr.update(value=None, interactive=False))
            session = re.sub(r"\W", "", getattr(request, "session_hash", "") or "anon")[:32] or "anon"
            path = app.write_timeline(t, export_fmt, session) if t.entries else None
            return render.timeline_html(t), gr.update(value=path, interactive=bool(path))

        def reexport(sess: ChatSession, export_fmt: str, request: gr.Request) -> tuple[Any, Any]:
            conv = sess.conversation
            if conv is None or not conv.turns:
                return gr.update(), gr.update()
            session = re.sub(r"\W", "", getattr(request, "session_hash", "") or "anon")[:32] or "anon"
            a_file, c_file = app.write_exports(conv, export_fmt, session)
            return gr.update(value=a_file, interactive=True), gr.update(value=c_file, interactive=True)

        def reset(sess: ChatSession) -> tuple[Any, ...]:
            sess.reset()
            return (render.chat_html([]), render.source_cards([], {}),
                    gr.update(value=None, interactive=False), gr.update(value=None, interactive=False),
                    gr.update(visible=False))

        def refreshed(message: str) -> tuple[Any, ...]:
            return (message, app.documents_html(), gr.update(choices=app.doc_choices(), value=None),
                    gr.update(choices=app.site_choices()))

        def report_text(report: Any) -> str:
            lines = [f"**{report.summary()}**"]
            if report.pending_vectors:
                lines.append(f"Searchable now; {report.pending_vectors} chunks get their vectors behind · "
                             "يمكن البحث الآن، والمتجهات تُحسب في الخلفية")
            lines += [f"- `{render.esc(src)}`: {render.esc(reason)}" for src, reason in report.errors]
            return "\n".join(lines)

        def run_ingest(targets: list[str], progress: gr.Progress) -> str:
            def tick(state: Any) -> None:
                total = max(state.files_total, 1)
                progress((state.files_done, total), desc=f"{state.documents} articles, {state.chunks} chunks",
                         unit="files")
            try:
                return report_text(app.bot.ingest(*targets, progress=tick, wait=False))
            except AkhbarError as e:
                return f"**Error:** {render.esc(str(e))}"

        def ingest_files(files: list[Any] | None, progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
            paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
            if not paths:
                return refreshed("Choose files first · اختر ملفات أولًا")
            try:
                saved = app.save_uploads(paths)
            except (AkhbarError, OSError) as e:
                return refreshed(f"**Error:** {render.esc(str(e))}")
            return refreshed(run_ingest([str(p) for p in saved], progress))

        def ingest_feed(url: str, progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
            url = (url or "").strip()
            if not url.startswith(("http://", "https://")):
                return refreshed("**Error:** give an http(s) URL of a feed or an article")
            return refreshed(run_ingest([url], progress))

        def remove(doc_id: str | None) -> tuple[Any, ...]:
            if not doc_id:
                return refreshed("Choose a document first")
            try:
                removed = app.bot.remove(doc_id)
            except AkhbarError as e:
                return refreshed(f"**Error:** {render.esc(str(e))}")
            return refreshed(f"Removed {len(removed.documents)} document(s) and {len(removed.sources)} source(s)")

        ask_inputs = [conv_state, backend, model, top_k, date_from, date_to, sites, langs, fmt]
        ask_outputs = [chat, sources, dl_answer, dl_conv, chip]
        t_go.click(show_timeline, [t_query, t_from, t_to, t_fmt], [t_view, t_dl], concurrency_id="timeline")
        t_query.submit(show_timeline, [t_query, t_from, t_to, t_fmt], [t_view, t_dl], concurrency_id="timeline")
        t_fmt.change(show_timeline, [t_query, t_from, t_to, t_fmt], [t_view, t_dl], concurrency_id="timeline")
        # A question is taken at once, outside the queue, however many are pending; its answer
        # then waits in the queue, one at a time, in the order sent. Both steps are "multiple":
        # Gradio's default ("once") drops a trigger while the same event is still running.
        for trigger in (send.click, question.submit):
            trigger(take, [question, conv_state], [chat, question], queue=False, trigger_mode="multiple",
                    show_progress="hidden").then(ask, ask_inputs, ask_outputs, concurrency_id="answer",
                                                 trigger_mode="multiple", show_progress="hidden")
        chip.click(unwindow, [conv_state, top_k, fmt], ask_outputs, concurrency_id="answer")
        fmt.change(reexport, [conv_state, fmt], [dl_answer, dl_conv])
        new_chat.click(reset, [conv_state], [chat, sources, dl_answer, dl_conv, chip], queue=False)
        corpus_outputs = [ingest_status, docs, doc_pick, sites]
        vector_timer.tick(lambda: render.vector_status_html(app.bot.vector_status()), None, vector_status,
                          show_progress="hidden", queue=False)
        ingest_btn.click(ingest_files, [uploads], corpus_outputs, concurrency_id="ingest")
        feed_btn.click(ingest_feed, [feed], corpus_outputs, concurrency_id="ingest")
        remove_btn.click(remove, [doc_pick], corpus_outputs, concurrency_id="ingest")
        demo.load(lambda: refreshed(""), None, corpus_outputs)
    # One answer at a time per process (the CPU LLM serves one generation at a time);
    # further questions wait in a bounded queue instead of failing.
    demo.queue(max_size=64, default_concurrency_limit=1)
    return demo


def chip_update(label: str) -> Any:
    return gr.update(visible=bool(label), value=label)


def theme() -> Any:
    # Plain font names: a GoogleFont here would make every page load fetch from Google.
    fonts = ["Noto Naskh Arabic", "Noto Sans Arabic", "DejaVu Sans", "Tahoma", "sans-serif"]
    return gr.themes.Default(font=fonts, font_mono=["DejaVu Sans Mono", "monospace"])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(*_: object) -> None:
    """SIGTERM (a service manager, `timeout`, `docker stop`) stops the chat as Ctrl+C does. A
    second TERM while the server shuts down is the same request: ignored, or it would raise
    inside the interpreter's shutdown and print a traceback."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(0)


def launch(bot: Akhbar, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True, announce: Any = print, prepare: Any = None) -> Any:
    """Start the app; ``prepare`` (loading the models) runs once the port is held, so a
    busy port fails at once; ``announce`` then gets the URL."""
    demo = build(bot)
    # Port 0: any free port. Gradio cannot bind port 0 itself, so a free one is picked and,
    # should something take it before Gradio binds it, another one.
    tries = 5 if port == 0 else 1
    for attempt in range(tries):
        chosen = port or _free_port()
        try:
            demo.launch(server_name=host, server_port=chosen, auth=auth, prevent_thread_lock=True, quiet=True,
                        show_error=False, theme=theme(), css=render.CSS, head=render.HEAD, footer_links=[],
                        ssr_mode=False, mcp_server=False)
            break
        except OSError as e:
            if attempt == tries - 1:
                raise AkhbarError(f"cannot listen on {host}:{chosen}: {e}") from e
    if prepare is not None:
        prepare()
    bot.start_vectors()  # vectors an earlier ingest left waiting: computed behind, paused while answering
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    announce(f"Akhbar chat running on http://{shown}:{demo.server_port}/  (Ctrl+C to stop)")
    if block:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
        demo.block_thread()
    return demo
