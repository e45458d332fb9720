"""The chat's per-session queue: every question sent is kept, shown, and answered in order."""

from __future__ import annotations

import copy
import re
from typing import Any

from rag.types import Answer
from ui import render
from ui.session import ChatSession


class _Conv:
    """Only the ``turns`` list the session reads (a unit test of the queue's logic)."""

    def __init__(self) -> None:
        self.turns: list[Answer] = []


def _bubbles(html: str) -> list[str]:
    # Each bubble's text without its meta line.
    bodies = re.findall(r'data-role="\w+">(.*?)</div>', html)
    return [re.sub(r"<[^>]+>", "", re.sub(r'<span class="meta".*?</span>', "", m)) for m in bodies]


def _shown(sess: ChatSession) -> str:
    v = sess.view()
    return render.chat_html(v["turns"], v["pending"], v["draft"], "", v["waiting"], v["failed"])


def test_questions_sent_during_an_answer_wait_in_order_and_show_at_once() -> None:
    sess = ChatSession()
    conv: Any = _Conv()
    sess.conversation = conv
    assert sess.send("  first?  ") and not sess.send("   ")
    q, gen = sess.next() or ("", -1)
    assert q == "first?"
    assert sess.stream("Twenty", gen)
    sess.send("second?")
    sess.send("third?")
    html = _shown(sess)
    texts = _bubbles(html)
    assert texts[0] == "first?" and texts[1] == "Twenty"
    assert texts[2].startswith("second?") and texts[3].startswith("third?")
    assert html.count('akhbar-msg user waiting"') == 2 and "في الانتظار" in html
    conv.turns.append(Answer("first?", "Twenty [1].", "en"))
    sess.finish(gen)
    assert sess.next() == ("second?", gen)
    sess.finish(gen, "date from must look like YYYY-MM-DD")
    assert sess.next() == ("third?", gen)
    conv.turns.append(Answer("third?", "Three.", "en"))
    sess.finish(gen)
    assert sess.next() is None
    # The failed question stays where it was asked, between the first and the third answer.
    texts = _bubbles(_shown(sess))
    assert texts[:2] == ["first?", "Twenty [1]."] and texts[2:4] == ["second?", "date from must look like YYYY-MM-DD"]
    assert texts[4] == "third?" and texts[5].startswith("Three.")


def test_a_new_conversation_drops_waiting_questions_and_silences_the_old_answer() -> None:
    sess = ChatSession()
    sess.conversation = _Conv()  # type: ignore[assignment]
    sess.send("old?")
    sess.send("also old?")
    _, gen = sess.next() or ("", -1)
    sess.reset()
    assert not sess.stream("late piece", gen)
    sess.finish(gen, "late error")
    v = sess.view()
    assert v == {"turns": [], "pending": None, "draft": "", "waiting": [], "failed": []}
    assert sess.next() is None


def test_each_browser_session_starts_empty() -> None:
    shared = ChatSession()
    shared.send("someone else's question")
    fresh = copy.deepcopy(shared)
    assert fresh.view()["waiting"] == [] and fresh is not shared
