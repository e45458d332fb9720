from pathlib import Path

import pytest

from rag import Config, ConfigError, StoreError
from rag.store import ChromaStore


def test_unreachable_server_is_a_clear_error(tmp_path: Path, refused_url: str) -> None:
    url = refused_url
    with pytest.raises(StoreError, match=f"cannot open the Chroma server at {url}"):
        ChromaStore(tmp_path / "c", "news", embed_model="multilingual-e5-small", url=url)
    assert not (tmp_path / "c").exists()


def test_server_settings_from_environment(tmp_path: Path) -> None:
    cfg = Config.load(env={"AKHBAR_HOME": str(tmp_path), "AKHBAR_CHROMA_URL": "https://chroma.internal:8443",
                           "AKHBAR_CHROMA_TOKEN": "s3cret", "AKHBAR_STORE_HEADERS": "X-Team: wire; X-Env: prod"})
    assert cfg.store.url == "https://chroma.internal:8443" and cfg.store.token == "s3cret"
    assert cfg.chroma_database.startswith("akhbar_") and cfg.chroma_database == Config(home=tmp_path).chroma_database
    with pytest.raises(ConfigError, match=r"store\.url must start with http"):
        Config.load(env={"AKHBAR_CHROMA_URL": "chroma:8000"})
    with pytest.raises(ConfigError, match=r"store\.headers"):
        Config.load(env={"AKHBAR_STORE_HEADERS": "no-colon"})
    from rag.store import parse_headers

    assert parse_headers(cfg.store.headers) == {"X-Team": "wire", "X-Env": "prod"}
