from pathlib import Path

import pytest

from rag import ConfigError
from rag.prompts import Prompts, fields_of

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


def test_every_prompt_file_renders_with_exactly_its_variables() -> None:
    p = Prompts(PROMPTS)
    files = p.names()
    assert {f.name for f in files} >= {"answer_ar.txt", "answer_en.txt", "system_ar.txt", "source.txt"}
    for f in files:
        wanted = fields_of(f.read_text(encoding="utf-8"))
        values = {name: f"<{name}>" for name in wanted}
        stem = f.stem
        lang = stem.rsplit("_", 1)[1] if stem.endswith(("_ar", "_en")) else None
        name = stem.rsplit("_", 1)[0] if lang else stem
        out = p.render(name, lang, **values)
        for v in values.values():
            assert v in out
        assert "{" not in out.replace("{}", "")  # no unrendered field left


def test_arabic_answer_prompt_puts_instructions_after_sources() -> None:
    out = Prompts(PROMPTS).render("answer", "ar", sources="SRC", question="Q", no_answer="NA")
    assert out.index("SRC") < out.index("التعليمات") < out.index("Q")


def test_strict_variables() -> None:
    p = Prompts(PROMPTS)
    with pytest.raises(ConfigError, match="missing variables"):
        p.render("answer", "ar", sources="x", question="y")
    with pytest.raises(ConfigError, match="unexpected variables"):
        p.render("source", number=1, title="t", excerpt="e", extra="!")


def test_values_are_not_reparsed() -> None:
    out = Prompts(PROMPTS).render("source", number=1, title="{question}", excerpt="{0} {x}")
    assert "{question}" in out and "{0} {x}" in out
