"""Questions about the coverage itself ("which papers carried it?"): recognised by the plan and
answered from the archive's records, listing every paper once with its date and citations."""

from __future__ import annotations

import pytest

from rag.answer.evidence import Closest, Evidence
from rag.answer.plan import Plan, Request, coverage_aspect
from rag.answer.read import coverage_text
from rag.answer.retrieve import Retrieved
from rag.types import ReaderKind, Source


@pytest.mark.parametrize("question,aspect", [
    ("ما الصحف التي نشرت هذا الخبر؟", "papers"), ("من نشر هذا الخبر؟", "papers"),
    ("وما الصحف التي تناولت خسائر موبايلي؟", "papers"), ("أي الصحف نشرت الخبر؟", "papers"),
    ("متى نُشر؟", "date"), ("من كتب هذا المقال؟", "author"), ("ما اسم كاتب المقال؟", "author"),
    ("Which newspapers reported it?", "papers"), ("Who else covered this?", "papers"),
    ("When was it published?", "date"), ("Who wrote the article?", "author"),
    # Questions about the news, not its coverage.
    ("من نشر الفيديو؟", None), ("ما الذي نشرته الصحف عن اليمن؟", None), ("كم بلغت خسائر موبايلي؟", None),
    ("Who won the match?", None), ("When was the base taken?", None),
    ("متى صدر قانون الأوروبية الوحدوية؟", None), ("متى نشر هذا القائد الكتاب المقدس باللغة الفرنسية؟", None),
    ("من كتب الورقة التي استند إليها الرسم البياني؟", None), ("من كاتب المقال؟", "author"),
])
def test_coverage_questions_are_recognised(question: str, aspect: str | None) -> None:
    assert coverage_aspect(question) == aspect


def _sources(*papers: tuple[str, str]) -> tuple[Source, ...]:
    return tuple(Source(n, f"d{n}", "موبايلي تخسر 945 مليون ريال", "محمد العتيبي" if n == 1 else "", f"p{n}",
                        "خسرت موبايلي 945 مليون ريال.", 1.0, date=date, site=site)
                 for n, (site, date) in enumerate(papers, start=1))


def _text(aspect: str, language: str, sources: tuple[Source, ...]) -> str:
    question = "Which newspapers reported it?" if language == "en" else "ما الصحف التي نشرت هذا الخبر؟"
    plan = Plan(Request(question), question, question, None, language, "coverage", ReaderKind.ARCHIVE, 5, None,
                None, coverage=aspect)
    retrieved = Retrieved(plan, None, question, None, (), (), (), (), False, 0, 0.0)
    return coverage_text(Evidence(retrieved, sources, (), Closest(0.0, ""), 0.0, None, "", 0.0))


def test_every_paper_once_with_its_date_and_the_markers_of_its_copies() -> None:
    sources = _sources(("الاقتصادية", "2015-08-02 23:34:11"), ("الرياض", "2015-08-02 23:16:24"),
                       ("الاقتصادية", "2015-08-03 01:00:00"), ("الجزيرة", "2015-08-03 00:10:00"))
    assert _text("papers", "ar", sources) == (
        "نشرت الخبر: الاقتصادية (2015-08-02) [1][3]، الرياض (2015-08-02) [2]، الجزيرة (2015-08-03) [4].")
    assert _text("papers", "en", sources) == (
        "Reported by: الاقتصادية (2015-08-02) [1][3], الرياض (2015-08-02) [2], الجزيرة (2015-08-03) [4].")
    assert _text("date", "ar", sources).startswith("نُشر في 2015-08-02 في الاقتصادية [1]. ونشرته أيضًا: الرياض")
    assert _text("author", "en", sources) == "Written by محمد العتيبي, الاقتصادية (2015-08-02) [1]."


def test_one_paper_says_so_and_an_undated_unnamed_article_says_what_it_lacks() -> None:
    assert _text("papers", "ar", _sources(("عكاظ", "2015-08-10"))) == (
        "لم ينشره في هذا الأرشيف إلا عكاظ، في 2015-08-10 [1].")
    assert _text("papers", "en", _sources(("عكاظ", "2015-08-10"))) == (
        "Only عكاظ carried it in this archive, on 2015-08-10 [1].")
    bare = _text("date", "en", _sources(("", "")))
    assert bare == "Published with no date in “موبايلي تخسر 945 مليون ريال” [1]."
