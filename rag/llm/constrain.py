"""Copy-constrained decoding: the model may only write a verbatim span of the evidence.

The constraint works on bytes and word boundaries, not on the evidence's own token ids: a
word inside a sentence is tokenized with its leading space or merged with a clitic, so the
tokens that spell a span at the start of an answer are not the tokens it had in the
sentence. Any token whose bytes continue some span of the evidence is allowed:

- a span starts at a word start (or at the space just before one, for tokens that carry a
  leading space) and never crosses a line break (the evidence sentences are joined by
  newlines);
- the end-of-reply tokens are allowed only once a whole word has been copied and the copy
  stands at a word end.

``CopyConstraint`` is pure logic over a vocabulary given as ``{token bytes: [ids]}``; the
llama.cpp adapter (``rag.llm.llamacpp``) decodes greedily among the tokens it allows. It
knows nothing about prompts or models.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


def _is_word_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    # Letters, digits and Arabic combining marks (harakat) belong to a word.
    return cat[0] in "LN" or cat == "Mn"


def word_starts(text: str) -> list[int]:
    """Character offsets where a word begins."""
    return [i for i, ch in enumerate(text) if _is_word_char(ch) and (i == 0 or not _is_word_char(text[i - 1]))]


def word_ends(text: str) -> set[int]:
    """Character offsets just after a word ends."""
    return {i + 1 for i, ch in enumerate(text) if _is_word_char(ch) and (i + 1 == len(text)
                                                                     or not _is_word_char(text[i + 1]))}


@dataclass
class CopyConstraint:
    """Which next tokens keep the reply a verbatim span of ``evidence``."""

    evidence: str
    vocab: Mapping[bytes, Sequence[int]]  # token bytes -> token ids with those bytes
    stop_ids: Sequence[int]
    max_token_bytes: int = 0
    # Character offsets of the word starts a span may begin at (default: every word start).
    only_starts: set[int] | None = None
    # False: a copy may not end on a number that a word follows ("45" of "45 تخصصًا"):
    # the answer to "how many" carries what is counted.
    bare_number_end: bool = True
    # A copy may end only once this holds for it (a quantity must hold a number).
    ends_when: Callable[[str], bool] | None = None
    _data: bytes = field(init=False, repr=False)
    _starts: set[int] = field(init=False, repr=False)
    _inside: set[int] = field(init=False, repr=False)
    _active: set[int] = field(init=False, repr=False)  # byte offsets where the copy may go on
    _copied: bytes = field(init=False, repr=False, default=b"")

    def __post_init__(self) -> None:
        self._data = self.evidence.encode("utf-8")
        # Character offsets to byte offsets.
        offsets = [0]
        for ch in self.evidence:
            offsets.append(offsets[-1] + len(ch.encode("utf-8")))
        first = [i for i in word_starts(self.evidence) if self.only_starts is None or i in self.only_starts]
        starts = {offsets[i] for i in first}
        # A token may carry the space (or other non-newline separator) before a word.
        starts |= {offsets[i - 1] for i in first if i > 0 and self.evidence[i - 1] in " \t\u00a0"}
        self._starts = starts
        # Byte offsets a copy may not end at: inside a character, or inside a word.
        inside = {offsets[i] + k for i, ch in enumerate(self.evidence) for k in range(1, len(ch.encode("utf-8")))}
        inside |= {offsets[i] for i in range(1, len(self.evidence))
                   if _is_word_char(self.evidence[i - 1]) and _is_word_char(self.evidence[i])}
        self._inside = inside
        self._active = set(starts)
        if not self.max_token_bytes:
            self.max_token_bytes = max((len(b) for b in self.vocab), default=1)

    @property
    def copied(self) -> str:
        """The span copied so far, without surrounding spaces and trailing punctuation."""
        return _trim(self._copied.decode("utf-8", errors="replace"))

    def can_stop(self) -> bool:
        text = self._copied.decode("utf-8", errors="ignore")
        if not any(_is_word_char(ch) for ch in text):
            return False
        if self.ends_when is not None and not self.ends_when(_trim(text)):
            return False
        ends = [p for p in self._active if p not in self._inside]
        if not self.bare_number_end and _trim(text)[-1:].isdigit():
            # Only where no word follows the number on its line.
            ends = [p for p in ends if not _word_follows(self._data, p)]
        return bool(ends)

    def allowed(self) -> set[int]:
        """Token ids allowed next (stop ids included when the copy may end here)."""
        out: set[int] = set()
        data = self._data
        for p in self._active:
            limit = min(len(data), p + self.max_token_bytes)
            for q in range(p + 1, limit + 1):
                piece = data[p:q]
                if b"\n" in piece:
                    break
                ids = self.vocab.get(piece)
                if ids:
                    out.update(ids)
        if self.can_stop():
            out.update(self.stop_ids)
        return out

    def advance(self, token_bytes: bytes) -> None:
        """Record the token the model chose (its bytes)."""
        n = len(token_bytes)
        self._active = {p + n for p in self._active if self._data[p:p + n] == token_bytes}
        self._copied += token_bytes

    def spans(self) -> list[tuple[int, int]]:
        """Character offsets in the evidence of every place the copy so far matches
        (stripped of the leading space a token may have carried)."""
        text = self._copied.decode("utf-8", errors="ignore")
        stripped = _trim(text)
        if not stripped:
            return []
        out = []
        lead = len(text) - len(text.lstrip())
        for end_b in sorted(self._active):
            start_b = end_b - len(self._copied)
            start = len(self._data[:start_b].decode("utf-8", errors="ignore")) + lead
            out.append((start, start + len(stripped)))
        return out


def _word_follows(data: bytes, p: int) -> bool:
    rest = data[p:p + 16].decode("utf-8", errors="ignore").lstrip(" \t\u00a0")
    return bool(rest) and _is_word_char(rest[0])


def _trim(text: str) -> str:
    return text.strip().rstrip(".,،؛:;!?؟…").rstrip()


def vocabulary(pieces: Iterable[tuple[int, bytes]]) -> dict[bytes, list[int]]:
    """``{bytes: [ids]}`` from ``(id, bytes)`` pairs, skipping empty pieces."""
    vocab: dict[bytes, list[int]] = {}
    for tid, b in pieces:
        if b:
            vocab.setdefault(b, []).append(tid)
    return vocab
