"""Citation exports of real answers read back with real parsers: a conversation on the seed
in every format, and `akhbar ask --export` to a file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import bibtexparser
import pytest
import rispy

from rag import EXPORT_FORMATS, Akhbar, AkhbarError, Config
from tests.conftest import AR_QUESTION
from tests.support.csl import csl_render as _csl_render


@pytest.mark.slow
def test_real_conversation_exports_every_format(seeded_bot: Akhbar) -> None:
    conv = seeded_bot.conversation()
    with pytest.raises(AkhbarError, match="no answers"):
        conv.export("csv")
    first = conv.ask(AR_QUESTION)
    second = conv.ask("How many Astana-format meetings have been held?")
    assert first.citations and second.citations and first.asked_at
    for fmt in EXPORT_FORMATS:
        assert first.export(fmt).strip() and conv.export(fmt).strip()
    rendered = _csl_render(conv.export("csl-json"))
    assert len(rendered) == 1 and "موسكو" in rendered[0]  # one article, cited by both turns
    rows = list(csv.DictReader(io.StringIO(conv.export("csv"))))
    assert {r["turn"] for r in rows} == {"1", "2"} and all(r["title"].startswith("موسكو") for r in rows)
    assert any("2017" in r["quote"] for r in rows if r["turn"] == "1")
    lib = bibtexparser.parse_string(conv.export("bibtex"))
    assert not lib.failed_blocks and lib.entries[0].fields_dict["author"].value.strip("{}") == "محمد السيدميداني"
    assert rispy.loads(conv.export("ris"))[0]["title"].startswith("موسكو")
    turns = json.loads(conv.export("json"))["turns"]
    assert [t["question"] for t in turns] == [AR_QUESTION, "How many Astana-format meetings have been held?"]
    md = conv.export("markdown")
    assert "[^t1-1]" in md and "[^t2-1]" in md


@pytest.mark.slow
def test_cli_ask_export_to_file(seeded_home: Path, prepared_config: Config, tmp_path: Path) -> None:
    from tests.integration.test_cli import run

    out = tmp_path / "answer.bib"
    proc = run(seeded_home, "ask", AR_QUESTION, "--backend", "llamacpp", "--export", "bibtex", "--out", str(out),
               cfg=prepared_config)
    assert proc.returncode == 0, proc.stderr
    assert "wrote bibtex export" in proc.stderr
    lib = bibtexparser.parse_string(out.read_text(encoding="utf-8"))
    assert lib.entries and lib.entries[0].fields_dict["title"].value.strip("{}").startswith("موسكو")
    bad = run(seeded_home, "ask", "x", "--export", "docx", cfg=prepared_config)
    assert bad.returncode == 2 and "unknown export format 'docx'" in bad.stderr
