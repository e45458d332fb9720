"""Conversations: follow-up questions are retrieved with their context.

"And how many meetings were held?" means nothing to a retriever. Before retrieving, the
last question is rewritten by the LLM into a standalone question from the recent history
(prompts ``rewrite_*``); the rewrite is used for retrieval and answering, and the Answer
keeps both. A first question is used as asked. Each Conversation is its own: nothing is
shared between two of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rag.citations import content_words
from rag.errors import AkhbarError
from rag.llm import GenerationStats
from rag.prompts import Prompts
from rag.retrieval import Filters
from rag.text import detect_language
from rag.types import Answer

if TYPE_CHECKING:
    from rag.akhbar import Akhbar

HISTORY_TURNS = 3
_LABEL = re.compile(r"^\s*(?:السؤال(?: المعاد صياغته| الجديد)?|(?:rewritten |standalone |new )?question)\s*[:：]\s*",
                    re.IGNORECASE)


_INTERROGATIVES = ("كم", "متى", "أين", "اين", "من", "ما", "ماذا", "لماذا", "كيف", "هل", "أي", "اي", "لمن",
                   "how", "what", "when", "where", "who", "whom", "which", "why", "whose", "is", "are", "was",
                   "were", "do", "does", "did", "can", "could")


def _interrogative(text: str) -> str | None:
    words = [w.strip("؟?،,.").lower().removeprefix("و").removeprefix("ف") if re.match(r"[\u0600-\u06ff]", w)
             else w.strip("؟?،,.").lower() for w in text.split()]
    return next((w for w in words if w in _INTERROGATIVES), None)


def clean_rewrite(raw: str, question: str) -> str | None:
    """The model's standalone rewrite, or None when it is not a faithful question: the
    1.5B model often drops the question word ("how many") or answers instead."""
    line = next((ln.strip() for ln in raw.strip().splitlines() if ln.strip()), "")
    line = _LABEL.sub("", line).strip().strip('"“”«»\'')
    if not line or len(line) > 3 * len(question) + 120 or detect_language(line) != detect_language(question):
        return None
    wanted = _interrogative(question)
    if wanted and _interrogative(line) != wanted:
        return None
    asked = content_words(question)
    if asked and len(asked & content_words(line)) / len(asked) < 0.5:
        return None
    return line


class Conversation:
    def __init__(self, bot: Akhbar, filters: Filters | None = None) -> None:
        self.bot = bot
        self.filters = filters
        self.turns: list[Answer] = []

    def history_text(self) -> str:
        lines = []
        for a in self.turns[-HISTORY_TURNS:]:
            q = a.extra.get("asked", a.question)
            lines.append(f"- {q}\n  {a.text}")
        return "\n".join(lines)

    def standalone(self, question: str) -> tuple[str, str]:
        """(question to retrieve and answer with, how it was made: asked/rewritten/context)."""
        if not self.turns:
            return question, "asked"
        lang = detect_language(question)
        prompts = Prompts(self.bot.config.prompts_dir)
        user = prompts.render("rewrite", lang if lang in ("ar", "en") else "en",
                              history=self.history_text(), question=question)
        raw = "".join(self.bot.llm.stream_chat([{"role": "user", "content": user}], GenerationStats()))
        rewritten = clean_rewrite(raw, question)
        if rewritten:
            return rewritten, "rewritten"
        # No faithful rewrite: carry the previous question along, so retrieval and the model
        # still see what "it"/"they" refers to.
        previous = self.turns[-1].extra.get("asked", self.turns[-1].question)
        return f"{previous} — {question}", "context"

    def ask_stream(self, question: str, top_k: int | None = None, time_filter: bool = True) -> Iterator[str | Answer]:
        if not question or not question.strip():
            raise AkhbarError("the question is empty")
        question = question.strip()
        rewritten, how = self.standalone(question)
        # A faithful rewrite is asked as is; otherwise the question is asked as the user
        # wrote it and only retrieval sees the previous question alongside it.
        asked = rewritten if how != "context" else question
        for item in self.bot.ask_stream(asked, top_k, self.filters, search_text=rewritten, time_filter=time_filter):
            if isinstance(item, Answer):
                extra = {**item.extra, "asked": question, "standalone": how}
                if rewritten != question:
                    extra["standalone_question"] = rewritten
                item = replace(item, question=question, extra=extra)
                self.turns.append(item)
            yield item

    def reask_last(self, top_k: int | None = None, time_filter: bool = False) -> Iterator[str | Answer]:
        """The last question asked again in place of its answer, by default without the
        date window its time words set (the UI's removable chip)."""
        if not self.turns:
            raise AkhbarError("the conversation has no question to ask again")
        last = self.turns.pop()
        return self.ask_stream(str(last.extra.get("asked", last.question)), top_k, time_filter=time_filter)

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        answer = None
        for item in self.ask_stream(question, top_k):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def export(self, fmt: str) -> str:
        """Every turn's answer and citations in one export (see ``Answer.export``)."""
        from rag.export import render

        if not self.turns:
            raise AkhbarError("the conversation has no answers to export yet")
        return render([a.to_dict() for a in self.turns], fmt)

    @classmethod
    def from_messages(cls, bot: Akhbar, messages: Sequence[dict[str, Any]],
                      filters: Filters | None = None) -> tuple[Conversation, str]:
        """Rebuild a conversation from chat messages; returns it and the last user question."""
        conv = cls(bot, filters)
        pending: str | None = None
        for m in messages:
            role, content = m.get("role"), str(m.get("content", ""))
            if role == "user":
                pending = content
            elif role == "assistant" and pending is not None:
                conv.turns.append(Answer(question=pending, text=content, language=detect_language(pending)))
                pending = None
        if pending is None:
            raise AkhbarError("the last message must be a user question")
        return conv, pending
