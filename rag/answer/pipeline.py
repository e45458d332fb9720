"""The answer path, one way through: plan → retrieve → evidence → read → check → decide → cite.

Each stage is a module of this package that takes the previous stage's frozen result and
returns its own; the ``Answer`` is built once, by the cite stage. ``Pipeline.stream`` yields
the reply's text as it is read, then the ``Answer`` (always last); ``Pipeline.answer`` keeps
only the Answer. The facade (``rag.akhbar``) and conversations call this; neither edits what
it returns. The pipeline holds no state between questions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from rag.answer.check import check_copy, check_free, check_listing
from rag.answer.cite import AlsoReported, Citer
from rag.answer.decide import decide
from rag.answer.evidence import gather, gather_coverage
from rag.answer.plan import Archive, Planner, Request
from rag.answer.read import Reading, reader_for
from rag.answer.retrieve import retrieve
from rag.config import Config
from rag.embedder import Embedder
from rag.llm import LLM
from rag.prompts import Prompts
from rag.retrieval import Retriever
from rag.types import Answer, ReaderKind


class Pipeline:
    def __init__(self, config: Config, retriever: Retriever, embedder: Embedder, llm: LLM, archive: Archive,
                 also_reported: AlsoReported) -> None:
        self.cfg = config
        self.retriever = retriever
        self.embedder = embedder
        self.llm = llm
        self.archive = archive
        self.prompts = Prompts(config.prompts_dir)
        self.planner = Planner(config, llm, archive, self.prompts)
        self.citer = Citer(llm, self.prompts, also_reported)

    def stream(self, request: Request) -> Iterator[str | Answer]:
        plan = self.planner.plan(request)
        started = time.perf_counter()
        retrieved = retrieve(plan, self.retriever, self.archive, self.cfg)
        if plan.reader is ReaderKind.ARCHIVE:
            evidence = gather_coverage(retrieved, self.retriever, self.archive, self.citer.also_reported)
        else:
            evidence = gather(retrieved, self.cfg, self.embedder, self.llm.count_tokens)
        if evidence.refusal is not None:
            # Nothing to ground an answer in: said without asking the model, which would
            # answer from memory.
            answer = self.citer.cite(evidence, decide(evidence, None, self.cfg), started)
            yield answer.text
            yield answer
            return
        reading: Reading | None = None
        for item in reader_for(plan.reader, self.cfg, self.llm, self.prompts).read(evidence, started):
            if isinstance(item, Reading):
                reading = item
            else:
                yield item
        assert reading is not None
        if reading.reader is ReaderKind.EXTRACTIVE:
            checked = check_copy(reading, self.cfg, self.llm, self.prompts)
        elif reading.reader is ReaderKind.ARCHIVE:
            checked = check_listing(reading)
        else:
            checked = check_free(reading, self.embedder, self.prompts.text("no_answer", plan.language))
        answer = self.citer.cite(evidence, decide(evidence, checked, self.cfg), started)
        if reading.reader is ReaderKind.EXTRACTIVE:
            yield answer.text
        yield answer

    def answer(self, request: Request) -> Answer:
        return last_answer(self.stream(request))


def last_answer(items: Iterator[str | Answer]) -> Answer:
    """The Answer that ends a stream."""
    answer = None
    for item in items:
        if isinstance(item, Answer):
            answer = item
    assert answer is not None
    return answer


StreamFn = Callable[[Request], Iterator[str | Answer]]
