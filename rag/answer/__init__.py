"""Answering a question: the one-way pipeline of stages (``rag.answer.pipeline``).

    plan → retrieve → evidence → read → check → cite → Answer

``plan`` reads the question (language, type, reader, date window, a follow-up's rewrite);
``retrieve`` runs every retrieval through ``Retriever``; ``evidence`` picks the sentences the
model is shown; ``read`` copies a span or writes freely (streamed); ``check`` decides whether
what was read stands; ``cite`` builds the ``Answer``. See docs/architecture.md.
"""

from rag.answer.pipeline import Pipeline, StreamFn, last_answer
from rag.answer.plan import Request, Turn

__all__ = ["Pipeline", "Request", "StreamFn", "Turn", "last_answer"]
