from pathlib import Path

import pytest

from rag import Config, ConfigError


def test_defaults_are_valid() -> None:
    cfg = Config.load(env={})
    assert cfg.llm.backend == "auto"
    assert cfg.retrieval.top_k > 0
    assert cfg.embed_model_path.name == "multilingual-e5-small"


def test_toml_then_env_then_code(tmp_path: Path) -> None:
    toml = tmp_path / "akhbar.toml"
    toml.write_text('[llm]\nbackend = "ollama"\nmax_tokens = 99\n[retrieval]\ntop_k = 7\n')
    cfg = Config.load(toml, env={"AKHBAR_RETRIEVAL_TOP_K": "3", "OLLAMA_HOST": "http://10.0.0.9:11434"})
    assert cfg.llm.backend == "ollama"
    assert cfg.llm.max_tokens == 99
    assert cfg.retrieval.top_k == 3  # env beats the file
    assert cfg.llm.ollama_host == "http://10.0.0.9:11434"
    cfg2 = cfg.with_overrides(llm={"backend": "llamacpp"}, home=tmp_path / "h")
    assert cfg2.llm.backend == "llamacpp" and cfg2.home == tmp_path / "h"
    assert cfg2.llm.max_tokens == 99


def test_home_toml_is_read(tmp_path: Path) -> None:
    (tmp_path / "akhbar.toml").write_text('[store]\ncollection = "wire-2024"\n')
    cfg = Config.load(env={"AKHBAR_HOME": str(tmp_path)})
    assert cfg.store.collection == "wire-2024"
    assert cfg.chroma_dir == tmp_path / "chroma"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[llm]\nbackend = "gpt"\n', "llm.backend"),
        ('[llm]\nmax_tokens = "many"\n', "llm.max_tokens"),
        ('[llm]\nbogus = 1\n', "llm.bogus"),
        ("[nope]\nx = 1\n", "nope"),
        ("[llm\n", "cannot read config file"),
        ('[store]\ncollection = "a b"\n', "store.collection"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        Config.load(f, env={})


def test_bad_env_names_the_variable_field() -> None:
    with pytest.raises(ConfigError, match=r"retrieval\.top_k"):
        Config.load(env={"AKHBAR_RETRIEVAL_TOP_K": "ten"})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        Config.load(tmp_path / "none.toml", env={})


def test_every_test_has_a_fresh_data_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The suite never reads the developer's ~/.local/share/akhbar (its akhbar.toml would
    change what the tests check): the default home and AKHBAR_HOME are this test's own."""
    import os

    base = tmp_path_factory.getbasetemp()
    assert Config.load(env={}).home.is_relative_to(base)
    assert Path(os.environ["AKHBAR_HOME"]).is_relative_to(base) and not Path(os.environ["AKHBAR_HOME"]).exists()


def test_field_mapping_and_site_names_from_toml_and_env(tmp_path: Path) -> None:
    f = tmp_path / "akhbar.toml"
    f.write_text('[ingest]\nfields = { date = "crawl_time", site = "paper" }\n'
                 'sites = { "mynews.example" = "أخباري" }\n', encoding="utf-8")
    cfg = Config.load(f, env={})
    assert cfg.ingest.field_map == {"date": "crawl_time", "site": "paper"}
    assert cfg.ingest.site_map == {"mynews.example": "أخباري"}
    env = Config.load(f, env={"AKHBAR_INGEST_FIELDS": "text=story, date=when"})
    assert env.ingest.field_map == {"text": "story", "date": "when"}
    with pytest.raises(ConfigError, match="unknown field 'when'"):
        Config.load(f, env={"AKHBAR_INGEST_FIELDS": "when=date"})
    with pytest.raises(ConfigError, match=r"ingest\.sites must be 'key=value"):
        Config.load(f, env={"AKHBAR_INGEST_SITES": "okaz"})
