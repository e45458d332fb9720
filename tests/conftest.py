"""Shared fixtures: real models, real Chroma, a real Ollama stand-in over HTTP.

Models are prepared once into the normal model cache (``make test`` already did that);
each test gets its own data directory, so nothing leaks between tests or into a user's
data. Heavy objects (embedding model, the 1.5B GGUF, the stand-in server) are loaded once
per session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from rag import Akhbar, Config
from rag.embedder import SentenceTransformerEmbedder
from rag.llm import LlamaCppLLM
from rag.models import prepare

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"
_SERVER = pytest.StashKey[tuple[subprocess.Popen[bytes], str]]()
AR_QUESTION = "منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟"
EN_QUESTION = "How many Astana-format meetings have been held?"


def pytest_configure(config: pytest.Config) -> None:
    """``AKHBAR_TEST_STORE=server``: the whole suite runs against a real ``chroma run``
    server on 127.0.0.1 (each data home gets its own database there), stopped at the end."""
    if os.environ.get("AKHBAR_TEST_STORE") != "server" or os.environ.get("AKHBAR_CHROMA_URL"):
        return
    import tempfile

    chroma = Path(sys.executable).parent / "chroma"
    data = tempfile.mkdtemp(prefix="akhbar-chroma-server-")
    port = free_port()
    log = open(Path(data) / "server.log", "wb")  # noqa: SIM115 - kept open for the server's life
    proc = subprocess.Popen([str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", data],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if not wait_until(lambda: _listening(port), timeout=60):
        proc.kill()
        raise RuntimeError(f"chroma run did not start; see {data}/server.log")
    os.environ["AKHBAR_CHROMA_URL"] = url
    config.stash[_SERVER] = (proc, data)
    print(f"\nserver-mode pass: chroma run on {url} (data {data})")


def pytest_unconfigure(config: pytest.Config) -> None:
    started = config.stash.get(_SERVER, None)
    if started:
        proc, data = started
        stop(proc, timeout=20)
        os.environ.pop("AKHBAR_CHROMA_URL", None)
        shutil.rmtree(data, ignore_errors=True)


def stop(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Terminate a server the tests started; kill it if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def base_config(home: Path, **llm: object) -> Config:
    """The user's model cache with a private data dir; environment overrides ignored so a
    developer's AKHBAR_* settings cannot change what the tests check."""
    kept = ("AKHBAR_MODELS_DIR", "XDG_CACHE_HOME", "AKHBAR_CHROMA_URL")
    cfg = Config.load(env={k: v for k, v in os.environ.items() if k in kept})
    return cfg.with_overrides(home=home, llm={"backend": "llamacpp", **llm})


@pytest.fixture(scope="session")
def prepared_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    cfg = base_config(tmp_path_factory.mktemp("home"))
    prepare(cfg, include_small=True)
    return cfg


@pytest.fixture(scope="session")
def embedder(prepared_config: Config) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(prepared_config.embed_model_path, name=prepared_config.embed.model)


@pytest.fixture(scope="session")
def llm_15b(prepared_config: Config) -> LlamaCppLLM:
    return LlamaCppLLM(prepared_config.llm_model_path, prepared_config)


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "akhbar-home"


@pytest.fixture()
def bot(prepared_config: Config, home: Path, embedder: SentenceTransformerEmbedder) -> Akhbar:
    """An empty collection in a private data dir, real embedder, LLM chosen by config."""
    return Akhbar(prepared_config.with_overrides(home=home), embedder=embedder)


@pytest.fixture(scope="session")
def seeded_home(tmp_path_factory: pytest.TempPathFactory, prepared_config: Config,
                embedder: SentenceTransformerEmbedder) -> Path:
    home = tmp_path_factory.mktemp("seeded")
    report = Akhbar(prepared_config.with_overrides(home=home), embedder=embedder).ingest(SEEDS)
    assert report.documents == 1 and report.new_chunks > 0, report.summary()
    return home


@pytest.fixture(scope="module")
def seeded_bot(prepared_config: Config, seeded_home: Path, embedder: SentenceTransformerEmbedder,
               llm_15b: LlamaCppLLM) -> Akhbar:
    """The seed corpus with the real embedder and the real 1.5B on llama.cpp."""
    return Akhbar(prepared_config.with_overrides(home=seeded_home), embedder=embedder, llm=llm_15b)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def ollama_standin(prepared_config: Config) -> Iterator[str]:
    """The stand-in server on 127.0.0.1 serving the real 1.5B GGUF; yields its URL."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.ollama_standin", "--gguf", str(prepared_config.llm_model_path),
         "--name", "qwen2.5-coder:1.5b", "--port", "0", "--embed-dir", str(prepared_config.embed_model_path),
         "--embed-name", "multilingual-e5-small"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("LISTENING"):
            proc.kill()
            raise RuntimeError(f"stand-in did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
        url = f"http://127.0.0.1:{line.split()[1]}"
        yield url
    finally:
        stop(proc)


def copy_seeds(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in SEEDS.iterdir():
        shutil.copy(f, dest / f.name)
    return dest


def wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False
