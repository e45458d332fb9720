"""The answer pipeline's first stages run on a bot, for tests that look at what the reader
would be shown."""

from __future__ import annotations

from typing import Any

from rag import Akhbar
from rag.answer.evidence import Evidence, gather
from rag.answer.plan import Planner, Request
from rag.answer.retrieve import retrieve
from rag.prompts import Prompts


def evidence_for(bot: Akhbar, question: str, llm: Any = None) -> Evidence:
    """plan → retrieve → evidence for ``question`` on ``bot`` (its LLM unless ``llm`` is given)."""
    llm = llm if llm is not None else bot.llm
    plan = Planner(bot.config, llm, bot.manifest, Prompts(bot.config.prompts_dir)).plan(Request(question))
    retrieved = retrieve(plan, bot.retriever, bot.manifest, bot.config)
    return gather(retrieved, bot.config, bot.query_embedder, llm.count_tokens)
