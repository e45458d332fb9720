
import pytest

from rag import ConfigError
from rag.prompts import Prompts, fields_of
from tests.conftest import REPO

PROMPTS = REPO / "prompts"


# What the code passes to each template. Written out here, not read from the templates,
# so a template that drops {question} (or gains a field nobody fills) fails.
EXPECTED = {
    "answer_ar.txt": {"sources", "question", "no_answer"},
    "answer_en.txt": {"sources", "question"},
    "source.txt": {"number", "title", "excerpt"},
    "rewrite_ar.txt": {"history", "question"},
    "rewrite_en.txt": {"history", "question"},
    "system_ar.txt": set(), "system_en.txt": set(),
    "no_answer_ar.txt": set(), "no_answer_en.txt": set(), "passages_ar.txt": set(), "passages_en.txt": set(),
    "empty_corpus_ar.txt": set(), "empty_corpus_en.txt": set(),
    "repair_ar.txt": set(), "repair_en.txt": set(),
    "reader_ar.txt": set(), "reader_en.txt": set(),
    "read_ar.txt": {"evidence", "question"}, "read_en.txt": {"evidence", "question"},
    "render_en.txt": {"span"},
    "verify_ar.txt": {"span", "question"}, "verify_en.txt": {"span", "question"},
    "reader_none_ar.txt": set(), "reader_none_en.txt": set(),
}


def test_every_prompt_file_has_the_variables_the_code_fills_and_renders() -> None:
    p = Prompts(PROMPTS)
    files = {f.name: f for f in p.names()}
    assert set(files) == set(EXPECTED), "a prompt file was added or removed: list it in EXPECTED"
    for name, f in files.items():
        assert fields_of(f.read_text(encoding="utf-8")) == EXPECTED[name], name
        values = {field: f"<{field}>" for field in EXPECTED[name]}
        stem = f.stem
        lang = stem.rsplit("_", 1)[1] if stem.endswith(("_ar", "_en")) else None
        out = p.render(stem.rsplit("_", 1)[0] if lang else stem, lang, **values)
        for v in values.values():
            assert v in out, (name, v)
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
