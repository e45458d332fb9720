"""One browser session's chat: its conversation and the questions waiting their turn.

A question is taken at once (``send``) and shown as waiting; answers are then given one at a
time, in the order the questions were sent (``next``/``finish``). The question box is never
written by an answer, so nothing typed while one streams is lost. This module holds the
session's state and its rendering inputs only; asking and formatting stay in ``ui.app`` and
``ui.render``.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from rag import Conversation


class ChatSession:
    """Mutable, per browser session (kept in ``gr.State``); every change holds ``lock``.

    A plain class, not a dataclass: Gradio serialises a dataclass state with ``asdict``,
    which cannot copy the lock."""

    def __init__(self) -> None:
        self.conversation: Conversation | None = None
        self.waiting: deque[str] = deque()
        self.current: str | None = None
        self.draft = ""
        # Questions that got an error, shown where they were asked: (turns before it, question, message).
        self.failed: list[tuple[int, str, str]] = []
        # Bumped by "New conversation": an answer still streaming for the old one stops showing.
        self.generation = 0
        self.lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> ChatSession:
        # Gradio deep-copies a State's initial value per session; a fresh session is empty.
        return ChatSession()

    def send(self, question: str) -> bool:
        """Queue ``question``; False when it is blank (nothing queued)."""
        question = (question or "").strip()
        if not question:
            return False
        with self.lock:
            self.waiting.append(question)
        return True

    def next(self) -> tuple[str, int] | None:
        """The oldest waiting question, now being answered, with the generation it belongs to."""
        with self.lock:
            if not self.waiting:
                return None
            self.current, self.draft = self.waiting.popleft(), ""
            return self.current, self.generation

    def stream(self, piece: str, generation: int) -> bool:
        """Add a streamed piece; False when the conversation was reset since (stop showing it)."""
        with self.lock:
            if generation != self.generation:
                return False
            self.draft += piece
            return True

    def finish(self, generation: int, error: str = "") -> None:
        """The current question is done: answered (now in the conversation) or failed with ``error``."""
        with self.lock:
            if generation != self.generation:
                return
            if error and self.current is not None:
                turns = len(self.conversation.turns) if self.conversation is not None else 0
                self.failed.append((turns, self.current, error))
            self.current, self.draft = None, ""

    def reset(self) -> None:
        """A new conversation: history, failures and waiting questions go."""
        with self.lock:
            self.conversation = None
            self.waiting.clear()
            self.failed.clear()
            self.current, self.draft = None, ""
            self.generation += 1

    def view(self) -> dict[str, Any]:
        """What ``ui.render.chat_html`` shows, read under the lock in one go."""
        with self.lock:
            return {"turns": list(self.conversation.turns) if self.conversation is not None else [],
                    "pending": self.current, "draft": self.draft, "waiting": list(self.waiting),
                    "failed": list(self.failed)}
