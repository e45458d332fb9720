"""Shared fixtures for tests/unit and tests/integration: real models, real Chroma, a real
Ollama stand-in over HTTP, and the small stand-ins the unit tests use.

tests/unit holds the tests that load no model and open no store (``make check`` runs them);
tests/integration the ones with real models, real Chroma, the browser or a crash scenario.
Collection fails (an error for its file) when a test under tests/unit is marked ``slow``, ``models``
or ``store``, counting the markers its fixtures add (``prepared_config`` → ``models``, the
store fixtures → ``store``): such a test belongs in tests/integration.

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
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from rag import Akhbar, Config
from rag.embedder import SentenceTransformerEmbedder
from rag.llm import LlamaCppLLM
from rag.models import prepare
from tests.support.servers import start_chroma, start_standin, stop

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"
_SERVER = pytest.StashKey[tuple[subprocess.Popen[bytes], str]]()
_DATA_HOME = pytest.StashKey[str]()
AR_QUESTION = "منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟"
EN_QUESTION = "How many Astana-format meetings have been held?"


# Fixtures whose store every test that uses them reads or writes: such a test is marked
# ``store`` (it also runs in the ``chroma run`` pass). Every model fixture hangs off
# ``prepared_config``: a test that uses it is marked ``models`` (``make check`` leaves it out).
STORE_FIXTURES = frozenset({"bot", "seeded_home", "seeded_bot", "injected", "news_bot", "remote_bot", "app_url"})
MODEL_FIXTURES = frozenset({"prepared_config"})
# Markers a test under tests/unit may not carry (collection fails, naming the test).
UNIT_DIR = REPO / "tests" / "unit"
NOT_UNIT = ("slow", "models", "store")
_OPENED: set[str] = set()  # node ids of tests during which a ChromaStore was opened
_CURRENT = [""]


# Property tests: 200 examples each in the full suite, 40 in the inner loop (`make check`).
settings.register_profile("full", max_examples=200)
settings.register_profile("check", max_examples=40)
settings.load_profile("check" if os.environ.get("AKHBAR_TEST_UNIT") else "full")


def pytest_configure(config: pytest.Config) -> None:
    """No test sees the developer's own data home or AKHBAR_* settings; the store guard is
    armed; ``AKHBAR_TEST_UNIT=1`` forbids loading a model; ``AKHBAR_TEST_STORE=server``
    starts a real ``chroma run`` server on 127.0.0.1 (each data home gets its own database
    there), stopped at the end."""
    import tempfile

    models_dir = Config.load(env={k: v for k, v in os.environ.items()
                                  if k in ("AKHBAR_MODELS_DIR", "XDG_CACHE_HOME")}).models_dir
    for k in [k for k in os.environ if k.startswith("AKHBAR_") and not k.startswith("AKHBAR_TEST_")
              and k not in ("AKHBAR_CHROMA_URL", "AKHBAR_UPDATE_SCREENSHOT")]:
        os.environ.pop(k)
    os.environ["AKHBAR_MODELS_DIR"] = str(models_dir)
    # Session fixtures load configs too: they must not read ~/.local/share/akhbar/akhbar.toml.
    os.environ["XDG_DATA_HOME"] = config.stash[_DATA_HOME] = tempfile.mkdtemp(prefix="akhbar-test-data-")
    _guard_store_openings()
    if os.environ.get("AKHBAR_TEST_UNIT"):
        _forbid_model_loads()
    if os.environ.get("AKHBAR_TEST_STORE") != "server" or os.environ.get("AKHBAR_CHROMA_URL"):
        return
    data = tempfile.mkdtemp(prefix="akhbar-chroma-server-")
    proc, url = start_chroma(Path(data))
    os.environ["AKHBAR_CHROMA_URL"] = url
    config.stash[_SERVER] = (proc, data)
    print(f"\nserver-mode pass: chroma run on {url} (data {data})")


def pytest_unconfigure(config: pytest.Config) -> None:
    # The run's stand-in data home goes with it, or every run leaves a directory in /tmp.
    home = config.stash.get(_DATA_HOME, None)
    if home:
        shutil.rmtree(home, ignore_errors=True)
    started = config.stash.get(_SERVER, None)
    if started:
        proc, data = started
        stop(proc, timeout=20)
        os.environ.pop("AKHBAR_CHROMA_URL", None)
        shutil.rmtree(data, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & STORE_FIXTURES:
            item.add_marker(pytest.mark.store)
        if used & MODEL_FIXTURES:
            item.add_marker(pytest.mark.models)


def _integration_marks(item: pytest.Item) -> list[str]:
    """The markers of NOT_UNIT the test has, or will have once the hook above has run."""
    marks = {m.name for m in item.iter_markers()}
    used = set(getattr(item, "fixturenames", ()))
    marks |= {"store"} if used & STORE_FIXTURES else set()
    marks |= {"models"} if used & MODEL_FIXTURES else set()
    return sorted(marks & set(NOT_UNIT))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport,
                                                                        pytest.CollectReport]:
    """A test under tests/unit that is slow, loads a model or opens a store is a collection
    error for its file (with or without ``-m``, and in pytest-xdist workers too)."""
    report = yield
    if report.passed and collector.path.resolve().is_relative_to(UNIT_DIR):
        misplaced = [f"{i.nodeid} ({', '.join(m)})" for i in report.result
                     if isinstance(i, pytest.Item) and (m := _integration_marks(i))]
        if misplaced:
            report.outcome = "failed"
            report.longrepr = ("tests/unit is for tests that load no model and open no store; move these to "
                               "tests/integration:\n  " + "\n  ".join(misplaced))
    return report


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _CURRENT[0] = item.nodeid  # fixtures set up for this test are charged to it
    yield
    _CURRENT[0] = ""


def _guard_store_openings() -> None:
    from rag.store import ChromaStore

    original = ChromaStore.__init__

    def recording_init(self: ChromaStore, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        _OPENED.add(_CURRENT[0])

    ChromaStore.__init__ = recording_init  # type: ignore[method-assign]


def _forbid_model_loads() -> None:
    from rag.embedder import OnnxEmbedder, SentenceTransformerEmbedder
    from rag.llm import LlamaCppLLM

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise RuntimeError("AKHBAR_TEST_UNIT: this test loads a model; it needs the prepared_config fixture "
                           "(marked models) so that `make check` leaves it out")

    SentenceTransformerEmbedder.__init__ = refuse  # type: ignore[method-assign]
    OnnxEmbedder.__init__ = refuse  # type: ignore[method-assign]
    LlamaCppLLM.__init__ = refuse  # type: ignore[method-assign]


def _stores_under(root: Path) -> set[Path]:
    return set(root.rglob("chroma.sqlite3"))


@pytest.fixture(autouse=True)
def _fresh_env_and_store_guard(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                               monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets a fresh AKHBAR_HOME and XDG_DATA_HOME; a test that opens a Chroma
    store (in this process, or a CLI subprocess writing under the test's folders) without
    being marked ``store`` fails, so the server pass cannot silently miss it."""
    fresh = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("AKHBAR_HOME", str(fresh / "akhbar"))
    monkeypatch.setenv("XDG_DATA_HOME", str(fresh / "data"))
    base = tmp_path_factory.getbasetemp()
    before = _stores_under(base)
    yield
    if request.node.get_closest_marker("store"):
        return
    new = _stores_under(base) - before
    if request.node.nodeid in _OPENED or new:
        pytest.fail(f"{request.node.nodeid} opened a Chroma store ({sorted(map(str, new)) or 'in process'}) "
                    "but is not marked store: mark it @pytest.mark.store or use a store fixture", pytrace=False)


@pytest.fixture()
def refused_url() -> Iterator[str]:
    """An http URL on 127.0.0.1 where nothing listens, for as long as the test runs: the
    port is bound (so nothing else can take it) but never listened on, so a connection is
    refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


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


@pytest.fixture(scope="module")
def ollama_standin(prepared_config: Config) -> Iterator[str]:
    """The stand-in server on 127.0.0.1 serving the real 1.5B GGUF; yields its URL. Per
    module: it holds a second copy of the model, and it should not outlive its tests."""
    proc, url = start_standin(prepared_config.llm_model_path, prepared_config.embed_model_path)
    try:
        yield url
    finally:
        stop(proc)


class ScriptedLLM:
    """Replies from a script, one reply per call, streamed in small pieces: for unit tests
    of what happens to a reply (the real model's wording is not what they test)."""

    backend, model = "scripted", "scripted"

    def __init__(self, *replies: list[str]) -> None:
        self.replies = list(replies)
        self.calls: list[list[dict[str, str]]] = []

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 3)

    def stream_chat(self, messages, stats):  # type: ignore[no-untyped-def]
        self.calls.append(list(messages))
        for piece in self.replies.pop(0):
            stats.completion_tokens += 1
            yield piece


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
