"""Prompt templates are files in ``prompts/``, rendered with strict variables.

A template's ``{name}`` fields must be supplied exactly: a missing or an unexpected
variable is a ``ConfigError`` naming the file, so a typo in a template can never silently
send the model a half-empty prompt. Values are inserted verbatim (braces in an article
are not re-parsed). Language variants are ``NAME_ar.txt`` / ``NAME_en.txt``.

``neutralize`` is applied to article text and questions before they enter a prompt: an
article is data, so chat-template control tokens (``<|im_start|>``…) that llama.cpp would
otherwise parse as real turns, and ``[n]`` markers that would pass for Akhbar's own
citations (or lend the model their numbers), are removed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from rag.errors import ConfigError

LANGUAGES = ("ar", "en")


@lru_cache(maxsize=64)
def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"prompt template {path} cannot be read: {e}") from e


_CONTROL = re.compile(r"<\|[^|>]{0,40}\|>|\[/?INST\]|<</?SYS>>|</?s>", re.IGNORECASE)
_MARKER = re.compile(r"\[(\s*[\d٠-٩]+(?:\s*[,،;]\s*[\d٠-٩]+)*\s*)\]")


def neutralize(text: str) -> str:
    """Untrusted text made safe to place in a prompt (see module docstring)."""
    out = text
    while True:
        cleaned = _CONTROL.sub(" ", out)
        cleaned = _MARKER.sub(" ", cleaned)
        if cleaned == out:
            return out
        out = cleaned


def fields_of(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


class Prompts:
    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)

    def path(self, name: str, language: str | None = None) -> Path:
        lang = language if language in LANGUAGES else ("en" if language else None)
        return self.dir / (f"{name}_{lang}.txt" if lang else f"{name}.txt")

    def text(self, name: str, language: str | None = None) -> str:
        """A template with no variables (a fixed message), stripped."""
        return self.render(name, language).strip()

    def render(self, name: str, language: str | None = None, **values: object) -> str:
        path = self.path(name, language)
        template = _read(path)
        wanted = fields_of(template)
        missing = wanted - values.keys()
        extra = values.keys() - wanted
        if missing or extra:
            raise ConfigError(
                f"prompt {path}: "
                + "; ".join(
                    part for part in (
                        f"missing variables {sorted(missing)}" if missing else "",
                        f"unexpected variables {sorted(extra)}" if extra else "",
                    ) if part
                )
            )
        return template.format_map({k: str(v) for k, v in values.items()})

    def render_source(self, name: str, language: str | None = None) -> str:
        """The raw template text, for callers that adapt to the fields it declares."""
        return _read(self.path(name, language))

    def names(self) -> list[Path]:
        return sorted(self.dir.glob("*.txt"))

    def reader_messages(self, language: str, evidence: str, question: str) -> list[dict[str, str]]:
        """The extractive reader's conversation: its instruction, then the evidence lines
        and the question. Answering (``Responder.extract``) and teaching
        (``rag.teach``) both build it here, so the model is taught the prompt it reads."""
        return [{"role": "system", "content": self.text("reader", language)},
                {"role": "user", "content": self.render("read", language, evidence=evidence,
                                                        question=neutralize(question))}]


def chatml(messages: Sequence[Mapping[str, str]], reply: bool = True) -> str:
    """Messages in the ChatML layout of the packaged Qwen models, ready for the
    assistant's reply (what llama.cpp evaluates for copy-constrained reading); without
    ``reply``, the turns alone (a prefix such a prompt starts with). The only copy of the
    layout: the llama.cpp adapter and the reader's teaching both render through it."""
    body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return body + "<|im_start|>assistant\n" if reply else body
