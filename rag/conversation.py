"""Conversations: follow-up questions are asked with their context.

"And how many meetings were held?" means nothing to a retriever. A ``Conversation`` keeps
its turns and passes them with each question; the plan stage rewrites a follow-up into a
standalone question from the recent history (prompts ``rewrite_*``) and the Answer keeps
both. Each Conversation is its own: nothing is shared between two of them. It calls the
answer pipeline and never edits what comes back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rag.answer import Request, StreamFn, Turn, last_answer
from rag.errors import AkhbarError
from rag.export import render
from rag.retrieval import Filters
from rag.text import detect_language
from rag.types import Answer


class Conversation:
    def __init__(self, stream: StreamFn, filters: Filters | None = None) -> None:
        self.stream = stream
        self.filters = filters
        self.turns: list[Answer] = []

    def ask_stream(self, question: str, top_k: int | None = None, time_filter: bool = True) -> Iterator[str | Answer]:
        if not question or not question.strip():
            raise AkhbarError("the question is empty")
        history = tuple(Turn(a.question, a.text, tuple(dict.fromkeys(c.doc_id for c in a.citations)))
                        for a in self.turns)
        request = Request(question.strip(), top_k, self.filters, time_filter=time_filter, history=history)
        for item in self.stream(request):
            if isinstance(item, Answer):
                self.turns.append(item)
            yield item

    def reask_last(self, top_k: int | None = None, time_filter: bool = False) -> Iterator[str | Answer]:
        """The last question asked again in place of its answer, by default without the
        date window its time words set (the UI's removable chip)."""
        if not self.turns:
            raise AkhbarError("the conversation has no question to ask again")
        last = self.turns.pop()
        return self.ask_stream(last.question, top_k, time_filter=time_filter)

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        return last_answer(self.ask_stream(question, top_k))

    def export(self, fmt: str) -> str:
        """Every turn's answer and citations in one export (see ``Answer.export``)."""
        if not self.turns:
            raise AkhbarError("the conversation has no answers to export yet")
        return render([a.to_dict() for a in self.turns], fmt)

    @classmethod
    def from_messages(cls, stream: StreamFn, messages: Sequence[dict[str, Any]],
                      filters: Filters | None = None) -> tuple[Conversation, str]:
        """Rebuild a conversation from chat messages; returns it and the last user question."""
        conv = cls(stream, filters)
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
