"""The `akhbar` command as a user runs it: a real subprocess, real models."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag import Config
from tests.conftest import REPO, copy_seeds


def run(home: Path, *args: str, cfg: Config | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AKHBAR_HOME": str(home), "PYTHONPATH": str(REPO)}
    kept = ("AKHBAR_HOME", "AKHBAR_MODELS_DIR", "AKHBAR_CHROMA_URL")
    for k in [k for k in env if k.startswith("AKHBAR_") and k not in kept]:
        env.pop(k)
    if cfg is not None:
        env["AKHBAR_MODELS_DIR"] = str(cfg.models_dir)
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)


@pytest.mark.store
def test_ingest_stats_and_reingest(tmp_path: Path, prepared_config: Config) -> None:
    corpus = copy_seeds(tmp_path / "corpus")
    home = tmp_path / "home"
    r = run(home, "ingest", str(corpus), "--collection", "seeds-test", cfg=prepared_config)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("1 documents, ")
    again = run(home, "ingest", str(corpus), "--collection", "seeds-test", cfg=prepared_config)
    assert again.stdout.strip().splitlines()[-1] == "1 documents, 0 new chunks, 1 skipped, 0 errors"
    st = json.loads(run(home, "stats", "--json", "--collection", "seeds-test", cfg=prepared_config).stdout)
    assert st["documents"] == 1 and st["chunks"] >= 2 and st["collection"] == "seeds-test"
    other = json.loads(run(home, "stats", "--json", cfg=prepared_config).stdout)
    assert other["documents"] == 0  # collections are kept apart


def test_models_status(tmp_path: Path, prepared_config: Config) -> None:
    r = run(tmp_path, "models", "status", "--json", cfg=prepared_config)
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["embedding"]["ready"] and st["llm"]["qwen2.5-coder-1.5b"]["ready"]


@pytest.mark.slow
@pytest.mark.store
def test_models_prepare_builds_what_the_first_question_would(tmp_path: Path, prepared_config: Config) -> None:
    """The copy vocabulary and both languages' reader instruction state are in the data home
    after `models prepare`, so the first `ask` reads them instead of building them."""
    home = tmp_path / "home"
    r = run(home, "models", "prepare", "--no-prime", cfg=prepared_config)
    assert r.returncode == 0, r.stderr
    assert not list(home.glob("cache/**/*.llama-state"))
    r = run(home, "models", "prepare", cfg=prepared_config)
    assert r.returncode == 0 and "reader primed" in r.stdout, r.stderr
    assert len(list(home.glob("cache/**/vocab-*.marshal"))) == 1
    states = list(home.glob("cache/**/prefix-*.llama-state"))
    assert len(states) == 2, states  # the Arabic and the English instruction
    # The first question then finds them: nothing new is written.
    before = {p: p.stat().st_size for p in home.glob("cache/**/*") if p.is_file()}
    corpus = copy_seeds(tmp_path / "corpus")
    assert run(home, "ingest", str(corpus), cfg=prepared_config).returncode == 0
    asked = run(home, "ask", "منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟", cfg=prepared_config)
    assert "2017" in asked.stdout, asked.stderr
    assert {p: p.stat().st_size for p in home.glob("cache/**/*") if p.is_file() and p.suffix != ".json"} == \
        {p: n for p, n in before.items() if p.suffix != ".json"}


@pytest.mark.slow
@pytest.mark.store
def test_a_reply_that_needs_no_model_is_printed_while_the_model_loads(tmp_path: Path,
                                                                       prepared_config: Config) -> None:
    """A coverage question is answered from the archive before llama.cpp has loaded (its
    loader silences the process's output while it runs): the reply must still be printed."""
    home = tmp_path / "home"
    assert run(home, "ingest", str(copy_seeds(tmp_path / "corpus")), cfg=prepared_config).returncode == 0
    r = run(home, "ask", "ما الصحف التي نشرت خبر اجتماعات أستانا؟", cfg=prepared_config)
    assert r.returncode == 0 and "لم ينشره في هذا الأرشيف إلا" in r.stdout and "[1]" in r.stdout, (r.stdout, r.stderr)


@pytest.mark.store
def test_errors_are_one_line_not_a_traceback(tmp_path: Path, prepared_config: Config) -> None:
    r = run(tmp_path, "ingest", str(tmp_path / "nowhere"), cfg=prepared_config)
    assert r.returncode == 1 and "no such file or directory" in r.stdout and "Traceback" not in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[llm]\nbackend = 'gpt'\n")
    r = run(tmp_path, "--config", str(bad), "stats", cfg=prepared_config)
    assert r.returncode == 1 and "llm.backend" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.store
@pytest.mark.slow
def test_ask_json_with_the_small_model(tmp_path: Path, prepared_config: Config) -> None:
    corpus = copy_seeds(tmp_path / "corpus")
    home = tmp_path / "home"
    assert run(home, "ingest", str(corpus), cfg=prepared_config).returncode == 0
    (home / "akhbar.toml").write_text('[llm]\nbackend = "llamacpp"\nmodel = "qwen2.5-0.5b"\nmax_tokens = 60\n')
    r = run(home, "ask", "How many Astana-format meetings have been held?", "--json", cfg=prepared_config)
    assert r.returncode == 0, r.stderr
    ans = json.loads(r.stdout)
    assert ans["backend"] == "llamacpp" and ans["model"] == "qwen2.5-0.5b-q4_k_m.gguf"
    assert ans["language"] == "en" and ans["text"]
    assert ans["sources"] and ans["sources"][0]["source_path"].endswith("000_dcd787653053976f.txt")
    assert all(1 <= c["number"] <= len(ans["sources"]) for c in ans["citations"])
    # A question no sentence of the corpus is near: refused, with the reason on stderr.
    off = run(home, "ask", "ما هي درجة غليان الزئبق بالدرجات المئوية؟", cfg=prepared_config)
    assert off.returncode == 0 and off.stdout.startswith("لا تتضمن المصادر المتاحة"), off.stdout
    assert "refused:" in off.stderr and "retrieval floor" in off.stderr, off.stderr


@pytest.mark.store
def test_docs_and_remove(tmp_path: Path, prepared_config: Config) -> None:
    corpus = copy_seeds(tmp_path / "corpus")
    seed = next(corpus.glob("*.txt"))
    (corpus / "copy.txt").write_bytes(seed.read_bytes())
    home = tmp_path / "home"
    r = run(home, "ingest", str(corpus), "--quiet", cfg=prepared_config)
    assert r.stdout.strip().splitlines()[-1].endswith("1 skipped, 0 errors"), r.stdout
    docs = json.loads(run(home, "docs", "--json", cfg=prepared_config).stdout)
    assert len(docs) == 1 and len(docs[0]["sources"]) == 2
    listing = run(home, "docs", cfg=prepared_config).stdout
    assert "(+1 more sources)" in listing and "1 documents" in listing
    r = run(home, "remove", str(seed), cfg=prepared_config)
    assert r.returncode == 0 and "removed source" in r.stdout and "the document stays" in r.stdout
    assert len(json.loads(run(home, "docs", "--json", cfg=prepared_config).stdout)[0]["sources"]) == 1
    r = run(home, "remove", docs[0]["doc_id"], cfg=prepared_config)
    assert r.returncode == 0 and docs[0]["doc_id"] in r.stdout
    assert json.loads(run(home, "docs", "--json", cfg=prepared_config).stdout) == []
    assert run(home, "remove", "nope", cfg=prepared_config).returncode == 1


@pytest.mark.store
def test_ingest_with_a_field_mapping_reports_the_fields_and_docs_json_is_the_typed_to_dict(
        tmp_path: Path, prepared_config: Config) -> None:
    from rag import Akhbar

    dump = tmp_path / "dump.jsonl"
    rows = [{"headline": "قمة خليجية", "story": "عقدت في الرياض قمة خليجية طارئة بحضور القادة لبحث الأوضاع.",
             "crawl_time": "2015-08-03 07:00:00", "paper": "aawsat"}]
    dump.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    home = tmp_path / "home"
    r = run(home, "ingest", str(dump), "--field", "text=story", "--field", "date=crawl_time",
            "--field", "site=paper", cfg=prepared_config)
    assert r.returncode == 0, r.stderr
    assert "date ← crawl_time (1/1)" in r.stdout and "site ← paper (1/1)" in r.stdout, r.stdout
    bad = run(home, "ingest", str(dump), "--field", "when=crawl_time", cfg=prepared_config)
    assert bad.returncode != 0 and "unknown field 'when'" in bad.stderr and "Traceback" not in bad.stderr
    listed = json.loads(run(home, "docs", "--json", cfg=prepared_config).stdout)
    docs = Akhbar(prepared_config.with_overrides(home=home)).documents()
    assert listed == [d.to_dict() for d in docs]
    assert listed[0]["site"] == "الشرق الأوسط" and listed[0]["date"] == "2015-08-03T07:00:00"
