"""HTML for the chat and the sources panel, built from ``Answer`` objects.

Everything that comes from an article or a model is escaped here, so a ``<script>`` tag,
an ``<img onerror=…>`` or a markdown image in the archive is shown as text, never run or
fetched. Each message, card, title and quote carries its own ``dir`` (Arabic right to
left, English left to right) and ``unicode-bidi: plaintext`` keeps mixed lines readable,
instead of relying on Gradio's global ``rtl`` flag. No retrieval or answering happens
here: these functions only format what the Python API returned.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from rag import (
    Answer,
    AnswerKind,
    ArticleText,
    SourceRef,
    Timeline,
    VectorProgress,
    Window,
    detect_language,
    shared_words,
)

EXCERPT_CONTEXT = 280  # characters of article shown around the supporting quote
_MARKER = re.compile(r"\[(\d+)\]")

CSS = """
:root { --akhbar-font: "Noto Naskh Arabic", "Noto Sans Arabic", "Amiri", "DejaVu Sans", "Tahoma", sans-serif; }
.akhbar, .akhbar * { font-family: var(--akhbar-font); }
#akhbar-question textarea { font-family: var(--akhbar-font); unicode-bidi: plaintext; }
.akhbar-chat { display: flex; flex-direction: column; gap: .6rem; min-height: 320px; max-height: 62vh;
  overflow-y: auto; padding: .5rem; }
.akhbar-msg { border-radius: 10px; padding: .6rem .8rem; line-height: 1.75; unicode-bidi: plaintext;
  white-space: pre-wrap; max-width: 92%; }
.akhbar-msg.user { background: var(--color-accent-soft, #eef2ff); align-self: flex-end; }
.akhbar-msg.bot { background: var(--block-background-fill, #f7f7f8);
  border: 1px solid var(--border-color-primary, #ddd); align-self: flex-start; }
.akhbar-msg.error { border-color: #c0392b; color: #c0392b; }
.akhbar-msg.kind-passages { border-style: dashed; border-color: #b7950b; }
.akhbar-msg.kind-refusal { opacity: .85; }
.akhbar-msg mark.qword { background: #fff3a3; color: inherit; }
.akhbar-msg.waiting { opacity: .65; border: 1px dashed var(--border-color-primary, #bbb); }
.akhbar-msg .meta { display: block; font-size: .8em; opacity: .7; margin-top: .3rem; }
.akhbar-msg .note { display: block; font-size: .85em; font-style: italic; margin-top: .3rem; }
.akhbar-bars { display: flex; align-items: flex-end; gap: 4px; height: 120px; margin: .5rem 0; direction: ltr; }
.akhbar-bars .bar { display: flex; flex-direction: column; align-items: center; justify-content: flex-end;
  height: 100%; min-width: 28px; font-size: .75em; }
.akhbar-bars .fill { display: block; width: 18px; background: var(--color-accent, #4f46e5);
  border-radius: 3px 3px 0 0; }
.akhbar-entries { list-style: none; padding: 0; display: flex; flex-direction: column; gap: .5rem; }
.akhbar-entries .entry { border: 1px solid var(--border-color-primary, #ddd); border-radius: 8px;
  padding: .5rem .7rem; }
.akhbar-entries .excerpt { unicode-bidi: plaintext; }
#akhbar-window-chip { border-radius: 999px; max-width: max-content; unicode-bidi: plaintext; font-size: .85em; }
.akhbar-msg a.cite { text-decoration: none; font-weight: 600; padding: 0 .1em; cursor: pointer; }
.akhbar-msg .unsupported { text-decoration: underline wavy #d35400; }
.akhbar-msg .unsupported::after { content: " ⚠"; color: #d35400; }
.akhbar-sources { display: flex; flex-direction: column; gap: .6rem; max-height: 75vh; overflow-y: auto; }
.akhbar-card { border: 1px solid var(--border-color-primary, #ddd); border-radius: 10px; padding: .6rem .8rem;
  unicode-bidi: plaintext; line-height: 1.7; }
.akhbar-card.flash { outline: 3px solid #f1c40f; }
.akhbar-card h4 { margin: 0 0 .2rem 0; unicode-bidi: plaintext; }
.akhbar-card .byline { font-size: .85em; opacity: .75; }
.akhbar-card .excerpt { margin: .4rem 0; unicode-bidi: plaintext; }
.akhbar-card mark { background: #fff3a3; color: inherit; }
.akhbar-card mark b.span { background: #ffd54f; }
.akhbar-card .badge { font-size: .75em; border: 1px solid currentColor; border-radius: 6px; padding: 0 .3em; }
.akhbar-card .fulltext { white-space: pre-wrap; unicode-bidi: plaintext; max-height: 40vh; overflow-y: auto; }
.akhbar-turn { font-size: .8em; opacity: .6; margin-top: .4rem; }
"""

# Runs in the page (no external script): clicking [n] brings its card into view, and the
# question box follows the direction of what is typed.
HEAD = """
<script>
document.addEventListener("click", function (e) {
  const a = e.target.closest ? e.target.closest("a.cite") : null;
  if (!a) return;
  e.preventDefault();
  const card = document.getElementById(a.getAttribute("data-target"));
  if (!card) return;
  card.scrollIntoView({behavior: "smooth", block: "center"});
  card.classList.add("flash");
  setTimeout(function () { card.classList.remove("flash"); }, 1600);
});
document.addEventListener("input", function (e) {
  const t = e.target;
  if (!t || !t.matches || !t.matches("textarea, input[type=text]")) return;
  const m = t.value.match(/[A-Za-z\\u00C0-\\u024F\\u0590-\\u08FF\\uFB1D-\\uFDFF\\uFE70-\\uFEFF]/);
  t.dir = m && /[\\u0590-\\u08FF\\uFB1D-\\uFDFF\\uFE70-\\uFEFF]/.test(m[0]) ? "rtl" : (m ? "ltr" : "auto");
});
</script>
"""


def direction(text: str) -> str:
    return "rtl" if detect_language(text) == "ar" else "ltr"


def esc(text: str) -> str:
    return html.escape(text or "", quote=True)


def card_id(turn: int, number: int) -> str:
    return f"akhbar-src-{turn}-{number}"


def _with_markers(text: str, turn: int, valid: set[int]) -> str:
    """Escaped text with each valid ``[n]`` a link to its card."""
    out = []
    pos = 0
    for m in _MARKER.finditer(text):
        out.append(esc(text[pos:m.start()]))
        n = int(m.group(1))
        if n in valid:
            out.append(f'<a class="cite" href="#{card_id(turn, n)}" data-target="{card_id(turn, n)}">[{n}]</a>')
        else:
            out.append(esc(m.group()))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def _highlighted(line: str, question: str, turn: int, valid: set[int]) -> str:
    """A quoted passage with the question's words marked, then its linked marker."""
    m = re.search(r"(\s*\[\d+\])+\s*$", line)
    body, tail = (line[:m.start()], line[m.start():]) if m else (line, "")
    out, pos = [], 0
    for a, b in shared_words(question, body):
        out.append(esc(body[pos:a]) + f'<mark class="qword">{esc(body[a:b])}</mark>')
        pos = b
    return "".join(out) + esc(body[pos:]) + _with_markers(tail, turn, valid)


def kind_label(answer: Answer) -> str:
    """How sure the reply is, in the page's meta line."""
    if answer.kind is AnswerKind.PASSAGES:
        return "no sure answer: closest passages · لا جواب قاطع: أقرب المقاطع"
    if answer.kind is AnswerKind.REFUSAL:
        return "not in the sources · غير موجود في المصادر"
    if answer.confidence is not None:
        return f"answer · confidence {answer.confidence:.0%}"
    return "answer"


def answer_body(answer: Answer, turn: int) -> str:
    """The answer text with linked markers; sentences the support check could not find in
    the sources are marked."""
    text = answer.text
    valid = {c.number for c in answer.citations}
    parts: list[str] = []
    pos = 0
    for s in answer.sentences:
        at = text.find(s.text, pos)
        if at < 0:
            continue
        parts.append(_with_markers(text[pos:at], turn, valid))
        inner = (_highlighted(s.text, answer.question, turn, valid) if answer.kind is AnswerKind.PASSAGES
                 else _with_markers(s.text, turn, valid))
        if s.supported:
            parts.append(inner)
        else:
            parts.append(f'<span class="unsupported" title="not found in the sources / غير موجود في المصادر">'
                         f"{inner}</span>")
        pos = at + len(s.text)
    parts.append(_with_markers(text[pos:], turn, valid))
    for note in answer.notes:
        parts.append(f'<span class="note" dir="{direction(note)}">{esc(note)}</span>')
    return "".join(parts)


def message(role: str, text_html: str, plain: str, meta: str = "", extra_class: str = "",
            language: str = "") -> str:
    # An answer reads in the asker's language; each line inside still takes its own
    # direction (unicode-bidi: plaintext), so an Arabic quote in an English reply stays RTL.
    d = ("rtl" if language == "ar" else "ltr") if language else direction(plain)
    meta_html = f'<span class="meta" dir="auto">{esc(meta)}</span>' if meta else ""
    return (f'<div class="akhbar-msg {role} {extra_class}" dir="{d}" data-role="{role}">'
            f"{text_html}{meta_html}</div>")


def chat_html(turns: Sequence[Answer], pending: str | None = None, draft: str = "", error: str = "",
              waiting: Sequence[str] = (), failed: Sequence[tuple[int, str, str]] = ()) -> str:
    """The whole conversation: finished turns, questions that failed (``(turns before it,
    question, message)``) in their place, the question being answered, then the questions
    waiting their turn."""
    parts = ['<div class="akhbar akhbar-chat" id="akhbar-chat-log">']

    def failures(before: int) -> None:
        for at, q, message_text in failed:
            if at == before:
                parts.append(message("user", esc(q), q))
                parts.append(message("bot", esc(message_text), message_text, extra_class="error"))

    failures(0)
    for i, a in enumerate(turns, start=1):
        parts.append(message("user", esc(a.question), a.question))
        meta = kind_label(a) + (f" · {a.backend}: {a.model} · {a.total_s:.1f}s" if a.backend else "")
        if a.diagnostics.attributed:
            meta += " · sources attributed by the support check"
        parts.append(message("bot", answer_body(a, i), a.text, meta,
                             f"kind-{a.kind.value}" + (" refused" if a.refused else ""),
                             a.language if a.kind is AnswerKind.PASSAGES else ""))
        failures(i)
    if pending is not None:
        parts.append(message("user", esc(pending), pending))
        if error:
            parts.append(message("bot", esc(error), error, extra_class="error"))
        else:
            shown = draft or "…"
            parts.append(message("bot", esc(shown), draft or pending, extra_class="draft"))
    for q in waiting:
        parts.append(message("user", esc(q), q, meta="waiting its turn · في الانتظار", extra_class="waiting"))
    parts.append("</div>")
    return "".join(parts)


def _excerpt(article: ArticleText | None, orig_start: int, orig_end: int, quote: str,
             span: tuple[int, int] = (0, 0)) -> str:
    """A readable window of the article with the quote highlighted, and inside it the
    answer span (an extractive answer) in bold."""
    if article is None:
        return f"<mark>{esc(quote)}</mark>"
    article_text = article.text
    start, end = article.offset(orig_start), article.offset(orig_end)
    s0, s1 = (article.offset(span[0]), article.offset(span[1])) if span[1] > span[0] else (None, None)
    if start is not None and end is not None and 0 <= start < end <= len(article_text):
        a = max(0, start - EXCERPT_CONTEXT)
        b = min(len(article_text), end + EXCERPT_CONTEXT)
        # Cut at word boundaries so the window does not start mid-word.
        if a > 0:
            a = article_text.find(" ", a) + 1 or a
        if b < len(article_text) and (j := article_text.rfind(" ", end, b)) > end:
            b = j
        if s0 is not None and s1 is not None and start <= s0 < s1 <= end:
            inner = (esc(article_text[start:s0]) + f'<b class="span">{esc(article_text[s0:s1])}</b>'
                     + esc(article_text[s1:end]))
        else:
            inner = esc(article_text[start:end])
        return ("… " if a > 0 else "") + esc(article_text[a:start]) + f"<mark>{inner}</mark>" \
            + esc(article_text[end:b]) + (" …" if b < len(article_text) else "")
    return f"<mark>{esc(quote)}</mark>"


def source_cards(turns: Sequence[Answer], articles: Mapping[str, ArticleText | None]) -> str:
    """One card per cited source, newest answer first; ``articles`` maps doc_id to
    ``Akhbar.article()`` (full text and metadata), None for one removed since."""
    parts = ['<div class="akhbar akhbar-sources" id="akhbar-sources">']
    any_card = False
    for turn in range(len(turns), 0, -1):
        a = turns[turn - 1]
        if not a.citations:
            continue
        q = a.question
        parts.append(f'<div class="akhbar-turn" dir="{direction(q)}">{turn}. {esc(q)}</div>')
        for c in a.citations:
            any_card = True
            art = articles.get(c.doc_id)
            doc = art.document if art else None
            text = art.text if art else ""
            title = c.title or (doc.title if doc else "") or c.source_path
            info = [v for v in (c.site or (doc.site if doc else ""), c.date or (doc.date if doc else ""),
                                c.byline or (doc.byline if doc else "")) if v]
            if c.page:
                info.append(f"ص {c.page} · p. {c.page}")
            where = c.url or c.source_path
            badge = ' <span class="badge">attributed · منسوب</span>' if c.attributed else ""
            link = (f'<a href="{esc(c.url)}" target="_blank" rel="noopener noreferrer nofollow">{esc(c.url)}</a>'
                    if c.url.startswith(("http://", "https://")) else esc(where))
            parts.append(
                f'<div class="akhbar-card" id="{card_id(turn, c.number)}" dir="{direction(title + " " + text[:200])}">'
                f'<h4 dir="{direction(title)}">[{c.number}] {esc(title)}{badge}</h4>'
                f'<div class="byline" dir="auto">{" · ".join(esc(str(v)) for v in info)}</div>'
                f'<div class="excerpt" dir="{direction(c.quote or text[:200])}">'
                f"{_excerpt(art, c.quote_start, c.quote_end, c.quote, (c.span_start, c.span_end))}</div>"
                f'<div class="byline" dir="ltr">{link}</div>'
                + also_html(c.also)
                + (f'<details><summary>Full article · النص الكامل</summary>'
                   f'<div class="fulltext" dir="{direction(text[:400])}">{esc(text)}</div></details>' if text else "")
                + "</div>"
            )
    if not any_card:
        parts.append('<div class="akhbar-turn">Sources of the answers appear here · تظهر المصادر هنا</div>')
    parts.append("</div>")
    return "".join(parts)



def window_chip(answer: Answer | None) -> str:
    """The label of the removable chip for the date window the answer's question set
    ("✕ بين 2015-08-03 و2015-08-09 · الأسبوع الماضي"), or "" when it set none."""
    if answer is None or not answer.window:
        return ""
    window = Window.from_dict(answer.window)
    anchor = window.anchor_label(answer.language)
    return f"✕ {window.label(answer.language)} · {window.text}" + (f" · {anchor}" if anchor else "")


def also_summary(also: Sequence[SourceRef]) -> str:
    """"وردت أيضًا في: عكاظ، المدينة · 2015-08-10": the other papers, then their dates."""
    sites = list(dict.fromkeys(a.site or a.title or a.source for a in also))
    dates = list(dict.fromkeys(a.date[:10] for a in also if a.date))
    return "وردت أيضًا في: " + "، ".join(sites) + (" · " + "، ".join(dates) if dates else "")


def also_html(also: Sequence[SourceRef]) -> str:
    """The card's "also reported by" line, expandable to each copy with its link."""
    if not also:
        return ""
    items = []
    for a in also:
        label = " · ".join(esc(v) for v in (a.site, a.date[:10], a.title) if v) or esc(a.source)
        href = a.url if a.url.startswith(("http://", "https://")) else ""
        link = (f' <a href="{esc(href)}" target="_blank" rel="noopener noreferrer nofollow" dir="ltr">{esc(href)}</a>'
                if href else f' <span dir="ltr">{esc(a.source)}</span>')
        items.append(f'<li dir="auto">{label}{link}</li>')
    return (f'<details class="also"><summary dir="rtl">{esc(also_summary(also))}</summary>'
            f'<ul>{"".join(items)}</ul></details>')


def timeline_html(t: Timeline | None) -> str:
    """The coverage view: articles per day as a bar chart, then each article in date order
    with its paper, title, date, best sentence and link, marked with its story."""
    if t is None:
        return ('<div class="akhbar" id="akhbar-timeline">Articles on a topic, in date order · '
                'المقالات بترتيب التاريخ</div>')
    if not t.entries:
        return (f'<div class="akhbar" id="akhbar-timeline">No article reaches the relevance floor ({t.floor:g}) · '
                f'لا مقالات</div>')
    days = t.per_day()
    top = max(days.values(), default=1)
    bars = "".join(
        f'<div class="bar" title="{esc(day)}: {n}"><span class="n">{n}</span>'
        f'<span class="fill" style="height:{round(100 * n / top)}%"></span>'
        f'<span class="day">{esc(day[5:])}</span></div>'
        for day, n in days.items())
    items = []
    for e in t.entries:
        link = (f'<a href="{esc(e.url)}" target="_blank" rel="noopener noreferrer nofollow" dir="ltr">{esc(e.url)}</a>'
                if e.url.startswith(("http://", "https://")) else f'<span dir="ltr">{esc(e.source_path)}</span>')
        items.append(
            f'<li class="entry story-{e.story}" data-story="{e.story}">'
            f'<div class="byline" dir="auto"><b>{esc(e.date[:10] or "—")}</b> · {esc(e.site or "—")} · '
            f'<span class="story">قصة {e.story}</span></div>'
            f'<h4 dir="{direction(e.title)}">{esc(e.title)}</h4>'
            f'<div class="excerpt" dir="{direction(e.sentence)}">{esc(e.sentence)}</div>'
            f'<div class="byline" dir="ltr">{link}</div>' + also_html(e.also) + "</li>")
    undated = f" · {t.undated} undated (last)" if t.undated else ""
    return (f'<div class="akhbar" id="akhbar-timeline"><div class="summary">{len(t.entries)} articles · '
            f'{t.stories} stories{undated}</div><div class="akhbar-bars" id="akhbar-bars">{bars}</div>'
            f'<ol class="akhbar-entries">{"".join(items)}</ol></div>')


def vector_status_html(status: VectorProgress) -> str:
    """The vector phase's progress in the Corpus tab: nothing when every chunk has its vector."""
    if not status.pending and not status.error:
        return ""
    done = status.total - status.pending
    share = done / status.total if status.total else 1.0
    rate = f", {status.rate:.1f} chunks/s" if status.running and status.rate else ""
    state = ("computing behind" + rate) if status.running else "not running"
    error = f'<div class="akhbar-error">{esc(status.error)}</div>' if status.error else ""
    return (f'<div class="akhbar akhbar-vectors"><progress max="{status.total}" value="{done}"></progress> '
            f"Vectors: {done:,} of {status.total:,} chunks ({share:.0%}), {state}. "
            f"Until they are all in, the other {status.pending:,} are found by their words only. · "
            f'<span dir="rtl">المتجهات: {done:,} من {status.total:,}</span>{error}</div>')
