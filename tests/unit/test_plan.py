"""The plan stage with a scripted LLM and archive: what a question is asked as, and which
date window its time words set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from rag.answer.plan import Planner, Request, Turn
from rag.config import Config
from rag.prompts import Prompts
from rag.types import ReaderKind

AS_OF = date(2015, 8, 10)


class _Rewriter:
    """Writes one scripted standalone rewrite; cannot copy spans."""

    backend, model = "scripted", "scripted"

    def __init__(self, rewrite: str) -> None:
        self.rewrite = rewrite
        self.calls: list[Any] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream_chat(self, messages: Any, stats: Any) -> Iterator[str]:
        self.calls.append(messages)
        yield self.rewrite


class _Archive:
    def date_counts(self) -> tuple[int, int]:
        return 10, 10

    def newest_date(self) -> str:
        return AS_OF.isoformat()


def _plan(question: str, rewrite: str = "", history: tuple[Turn, ...] | None = None,  # type: ignore[no-untyped-def]
          as_of: date | None = AS_OF):
    cfg = Config()
    llm = _Rewriter(rewrite)
    plan = Planner(cfg, llm, _Archive(), Prompts(cfg.prompts_dir)).plan(
        Request(question, as_of=as_of, history=history))
    return plan, llm


ASTANA = Turn("منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟", "منذ يناير2017 [1].")


def test_a_follow_up_takes_no_time_words_from_the_last_answer() -> None:
    """The rewrite carries the answer's "منذ يناير2017"; the user never asked about a date."""
    rewrite = "ما الدول الثلاث الضامنة لعملية أستانا منذ يناير2017؟"
    plan, llm = _plan("وما الدول الثلاث الضامنة؟", rewrite, (ASTANA,), as_of=date(2024, 12, 1))
    assert llm.calls and plan.standalone == "rewritten" and plan.asked == rewrite
    assert plan.window is None and plan.notes == ()
    # …while the same words typed by the user do set a window.
    typed, _ = _plan(rewrite, as_of=date(2024, 12, 1))
    assert typed.window is not None and typed.window.since == date(2017, 1, 1)


def test_a_follow_up_keeps_the_time_words_of_the_question_it_follows() -> None:
    earlier = Turn("ماذا حدث أمس في حلب؟", "اشتباكات في الأحياء الشرقية [1].")
    plan, _ = _plan("وفي إدلب؟", "ماذا حدث أمس في إدلب؟", (earlier,))
    assert plan.window is not None and plan.window.since == plan.window.until == date(2015, 8, 9)
    # Its own time words win over the earlier question's.
    own, _ = _plan("وماذا حدث في إدلب الأسبوع الماضي؟", "ماذا حدث في إدلب الأسبوع الماضي؟", (earlier,))
    assert own.window is not None and own.window.text == "الأسبوع الماضي"


def test_a_lone_question_is_planned_as_asked() -> None:
    plan, llm = _plan("  كم اجتماعًا عقد في أستانا أمس؟ ")
    assert not llm.calls and plan.question == plan.asked == "كم اجتماعًا عقد في أستانا أمس؟"
    assert plan.standalone is None and plan.kind == "how_many" and plan.language == "ar"
    # The scripted LLM cannot copy spans, so even a factoid question is read freely.
    assert plan.reader is ReaderKind.GENERATIVE
    assert plan.window is not None and plan.window.text == "أمس"
    assert _plan("How many meetings were held in Astana?")[0].language == "en"


def test_relative_words_count_from_the_newest_article_when_nothing_is_that_recent() -> None:
    """Today is years after the archive's newest article (2015-08-10): "أمس" is 2015-08-09."""
    plan, _ = _plan("ماذا حدث أمس في عدن؟", as_of=None)
    assert plan.window is not None and plan.window.since == plan.window.until == date(2015, 8, 9)
    assert plan.window.anchor == "2015-08-10" and "2015-08-10" in plan.window.anchor_label("en")
    # An absolute date is the same either way, and says nothing about an anchor.
    august, _ = _plan("ماذا حدث في عدن في أغسطس 2015؟", as_of=None)
    assert august.window is not None and august.window.since == date(2015, 8, 1) and not august.window.anchor
    # A day given explicitly is used as given.
    given, _ = _plan("ماذا حدث أمس في عدن؟", as_of=date(2016, 1, 2))
    assert given.window is not None and given.window.since == date(2016, 1, 1) and not given.window.anchor
