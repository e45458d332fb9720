"""ui.render: the HTML the browser shows, checked without a browser (test_ui checks it in one)."""

from __future__ import annotations

import re

from rag import Answer, ArticleText, Citation, Document, SentenceSupport
from ui import render


def _answer() -> Answer:
    supported = SentenceSupport("منذ يناير 2017 [1].", (1,), True, 1, 0.9, "منذ يناير2017.", 10, 24)
    unsupported = SentenceSupport("<b>وفاز</b> فريق فرنسا [1] [9].", (1,), False, 1, 0.7, "x", 0, 1)
    cite = Citation(number=1, doc_id="d1", title="<script>alert(1)</script> موسكو", source_path="/a.txt",
                    quote="منذ يناير2017.", quote_start=10, quote_end=24, url="javascript:alert(1)")
    return Answer(question="منذ متى؟", text="منذ يناير 2017 [1]. <b>وفاز</b> فريق فرنسا [1] [9].",
                  language="ar", citations=(cite,), sentences=(supported, unsupported))


def test_answer_markup_is_escaped_markers_linked_unsupported_marked() -> None:
    html = render.answer_body(_answer(), turn=3)
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert html.count('data-target="akhbar-src-3-1"') == 2
    assert "[9]" in html and 'data-target="akhbar-src-3-9"' not in html  # no card, no link
    assert html.count('class="unsupported"') == 1 and "فرنسا" in html.split('class="unsupported"')[1]


def test_cards_escape_article_fields_and_never_link_script_urls() -> None:
    text = "نص قبل. منذ يناير2017. نص بعد <img src=x onerror=alert(1)>"
    art = ArticleText(Document("d1", title="<script>x</script>", site="<i>site</i>"), text, ((0, 0, len(text)),))
    html = render.source_cards([_answer()], {"d1": art})
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img" not in html
    assert 'href="javascript:' not in html
    assert "<mark>" in html and 'id="akhbar-src-1-1"' in html
    assert 'dir="rtl"' in html


def test_direction_follows_each_text() -> None:
    assert render.direction("منذ متى؟ Astana") == "rtl"
    assert render.direction("How many meetings? أستانا") == "ltr"
    chat = render.chat_html([_answer()], pending="How many?", draft="Twenty")
    assert 'class="akhbar-msg user " dir="rtl"' in chat and 'dir="ltr" data-role="user"' in chat


def test_the_window_chip_says_when_relative_words_counted_from_the_newest_article() -> None:
    from rag.types import Answer

    window = {"since": "2015-08-09", "until": "2015-08-09", "text": "أمس", "start": 9, "end": 12}
    plain = render.window_chip(Answer("ماذا حدث أمس في عدن؟", "x", "ar", window=window))
    assert plain.startswith("✕ ") and "أمس" in plain and "أحدث مقال" not in plain
    anchored = render.window_chip(Answer("ماذا حدث أمس في عدن؟", "x", "ar", window={**window, "anchor": "2015-08-10"}))
    assert "أحدث مقال" in anchored and "2015-08-10" in anchored and "2015-08-09" in anchored


def test_passages_are_shown_as_such_with_the_question_s_words_marked() -> None:
    from rag import AnswerKind
    from rag.types import RefusalReason

    quote = "بلغت الخسائر الاقتصادية للإعصار 3,83 مليارات يوان <b>"
    line = f"«{quote}» [1]"
    cite = Citation(number=1, doc_id="d1", title="سوديلور", source_path="/a.txt", quote=quote, quote_start=0,
                    quote_end=len(quote))
    a = Answer(question="كم بلغت خسائر الإعصار الاقتصادية؟", text="لم أجد في المصادر جوابًا قاطعًا؛ هذه أقرب المقاطع:\n"
               + line, language="ar", citations=(cite,), refused=True, kind=AnswerKind.PASSAGES,
               refusal_reason=RefusalReason.UNSURE, confidence=0.31,
               sentences=(SentenceSupport(line, (1,), True, 1, 1.0, quote, 0, len(quote), (1,)),))
    chat = render.chat_html([a])
    assert "kind-passages" in chat and "أقرب المقاطع" in chat
    marked = re.findall(r'<mark class="qword">(.*?)</mark>', chat)
    assert "الخسائر" in marked and "الاقتصادية" in marked and "للإعصار" in marked
    assert "&lt;b&gt;" in chat and 'data-target="akhbar-src-1-1"' in chat  # escaped, marker linked
    sure = Answer(question="q", text="3 [1].", language="ar", citations=(cite,), confidence=0.93)
    assert "confidence 93%" in render.chat_html([sure]) and "kind-answer" in render.chat_html([sure])


def test_the_vector_phase_shows_how_far_it_is_and_nothing_once_done() -> None:
    from rag import VectorProgress

    assert render.vector_status_html(VectorProgress(total=2955, pending=0)) == ""
    shown = render.vector_status_html(VectorProgress(total=2955, pending=1204, done=1751, seconds=175.1,
                                                     running=True))
    assert '<progress max="2955" value="1751">' in shown and "1,751 of 2,955 chunks (59%)" in shown
    assert "10.0 chunks/s" in shown and "1,204 are found by their words only" in shown
    stalled = render.vector_status_html(VectorProgress(total=10, pending=4, error="<disk full>"))
    assert "not running" in stalled and "&lt;disk full&gt;" in stalled
