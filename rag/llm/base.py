"""The protocols and small types every LLM adapter shares: ``Message``, ``GenerationStats``,
``LLM`` (stream a chat reply, count tokens) and ``SpanReader`` with its ``CopiedSpan`` (read
a reply by copying a span of the evidence).

Types only: no backend code and no imports beyond the standard library, so callers that
only need the types do not load an adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Message = dict[str, str]


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class LLM(Protocol):
    backend: str
    model: str

    def stream_chat(self, messages: Sequence[Message], stats: GenerationStats) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


@dataclass(frozen=True)
class CopiedSpan:
    """A reply constrained to copy a span of the evidence (``rag.llm.constrain``)."""

    text: str  # the span, stripped
    offsets: tuple[tuple[int, int], ...]  # every place in the evidence it matches
    logprobs: tuple[float, ...]  # the model's own (unconstrained) log-probability of each token
    stopped: bool  # ended by the model, not by the token limit
    # The model's own log-probability, at the first step, of starting the reply it is told
    # to give when the text lacks the answer (0 when not asked for).
    none_logprob: float = 0.0
    # More copies, each from the next-best first token the copy could take (``alternatives``).
    alternatives: tuple[CopiedSpan, ...] = ()


@dataclass(frozen=True)
class ReplyScore:
    """The model's log-probability of a given reply, token by token, and of ending it there."""

    logprobs: tuple[float, ...]
    end_logprob: float


class SpanReader(Protocol):
    """An LLM that can also read a span by copying (the extractive reader needs it)."""

    def copy_span(self, messages: Sequence[Message], evidence: str, stats: GenerationStats,
                  max_tokens: int = 24, starts: set[int] | None = None,
                  bare_number_end: bool = True, none_text: str = "",
                  ends_when: Callable[[str], bool] | None = None, alternatives: int = 0) -> CopiedSpan: ...

    def choice_logprobs(self, messages: Sequence[Message], options: Sequence[Sequence[str]],
                        stats: GenerationStats) -> tuple[float, ...]: ...

    def score_replies(self, messages: Sequence[Message], replies: Sequence[str],
                      stats: GenerationStats) -> tuple[ReplyScore, ...]: ...
