"""One explicit configuration object: a TOML file plus ``AKHBAR_*`` environment overrides.

Precedence, lowest first: built-in defaults, the TOML file (``AKHBAR_CONFIG`` or
``<home>/akhbar.toml`` when it exists), environment variables, then keyword overrides
passed in code. Every section field can be overridden as ``AKHBAR_<SECTION>_<FIELD>``
(``AKHBAR_LLM_BACKEND=ollama``); ``AKHBAR_HOME`` and ``AKHBAR_MODELS_DIR`` set the two
directories, Ollama's own ``OLLAMA_HOST`` is honoured, and ``AKHBAR_CHROMA_URL`` /
``AKHBAR_CHROMA_TOKEN`` point the store at a ``chroma run`` server.

This module only reads and validates settings; it never creates directories or loads
models, and there is no module-level "current config": callers pass a ``Config``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rag.config.sections import (
    BACKENDS,
    BUILTIN_EMBED,
    BUILTIN_LLMS,
    FIELD_KEYS,
    PACKAGED_ADAPTER,
    AnswerConfig,
    EmbedConfig,
    IngestConfig,
    LLMConfig,
    RetrievalConfig,
    StoreConfig,
    check_fields,
    parse_pairs,
)
from rag.errors import ConfigError

__all__ = ["BACKENDS", "BUILTIN_EMBED", "BUILTIN_LLMS", "FIELD_KEYS", "PACKAGED_ADAPTER", "AnswerConfig", "Config",
           "EmbedConfig", "IngestConfig", "LLMConfig", "RetrievalConfig", "StoreConfig", "check_fields", "parse_pairs"]

def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "akhbar"


def _default_models_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "akhbar" / "models"


@dataclass(frozen=True)
class Config:
    home: Path = field(default_factory=_default_home)
    models_dir: Path = field(default_factory=_default_models_dir)
    prompts_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parents[2] / "prompts")
    store: StoreConfig = field(default_factory=StoreConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def embed_name(self) -> str:
        """What the collection records as the model that built it."""
        return f"ollama:{self.embed.ollama_model}" if self.embed.backend == "ollama" else self.embed.model

    @property
    def chroma_database(self) -> str:
        if self.store.database:
            return self.store.database
        import hashlib

        return "akhbar_" + hashlib.sha256(str(Path(self.home).resolve()).encode()).hexdigest()[:12]

    @property
    def manifest_path(self) -> Path:
        return self.home / "manifest.sqlite"

    @property
    def embed_model_path(self) -> Path:
        if self.embed.model == BUILTIN_EMBED:
            return self.models_dir / BUILTIN_EMBED
        return Path(self.embed.model).expanduser()

    @property
    def llm_model_path(self) -> Path:
        if self.llm.model in BUILTIN_LLMS:
            return self.models_dir / f"{self.llm.model}-q4_k_m.gguf"
        return Path(self.llm.model).expanduser()

    @property
    def llm_adapter_path(self) -> Path | None:
        """The GGUF adapter file the llama.cpp model loads, or None. "auto" resolves to the
        packaged adapter only when its recorded base is the configured model (checked by
        ``rag.models.adapter_matches``); an explicit path is used as given."""
        value = self.llm.adapter.strip()
        if value.lower() in ("", "off", "none", "false"):
            return None
        if value.lower() == "auto":
            return PACKAGED_ADAPTER if PACKAGED_ADAPTER.is_file() else None
        return Path(value).expanduser()

    def with_overrides(self, **sections: Mapping[str, Any] | Any) -> Config:
        """Return a copy with top-level fields or section fields replaced.

        ``cfg.with_overrides(home=Path("x"), llm={"backend": "ollama"})``
        """
        top: dict[str, Any] = {}
        for name, value in sections.items():
            current = getattr(self, name, None)
            if current is None and name not in {f.name for f in fields(self)}:
                raise ConfigError(f"unknown config field {name!r}")
            if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
                top[name] = _replace_section(name, current, value)
            else:
                top[name] = Path(str(value)) if name in _PATH_FIELDS else value
        cfg = replace(self, **top)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if not 0 < self.ingest.near_duplicate_threshold <= 1:
            raise ConfigError("ingest.near_duplicate_threshold must be in (0, 1]")
        if self.retrieval.mode not in ("hybrid", "dense", "bm25"):
            raise ConfigError(f"retrieval.mode must be hybrid, dense or bm25, not {self.retrieval.mode!r}")
        if self.embed.precision not in ("auto", "float32", "bfloat16"):
            raise ConfigError(f"embed.precision must be auto, float32 or bfloat16, not {self.embed.precision!r}")
        if self.llm.backend not in BACKENDS:
            raise ConfigError(f"llm.backend must be one of {', '.join(BACKENDS)}, not {self.llm.backend!r}")
        if not self.store.collection or not _valid_collection(self.store.collection):
            raise ConfigError(
                f"store.collection {self.store.collection!r} is invalid: use 3-63 letters, digits, '.', '_' or '-'"
            )
        if self.embed.backend not in ("sentence-transformers", "ollama"):
            raise ConfigError(f"embed.backend must be sentence-transformers or ollama, not {self.embed.backend!r}")
        if self.embed.query_engine not in ("auto", "onnx", "sentence-transformers"):
            raise ConfigError("embed.query_engine must be auto, onnx or sentence-transformers, "
                              f"not {self.embed.query_engine!r}")
        if self.store.url and not self.store.url.startswith(("http://", "https://")):
            raise ConfigError(f"store.url must start with http:// or https://, not {self.store.url!r}")
        if self.store.headers:
            for part in self.store.headers.split(";"):
                if part.strip() and ":" not in part:
                    raise ConfigError(f"store.headers must be 'Name: value; Other: value', not {part.strip()!r}")
        positive = (("retrieval", "top_k"), ("retrieval", "max_sentences"), ("embed", "batch_size"),
                    ("embed", "chunk_tokens"), ("llm", "max_tokens"), ("llm", "n_ctx"), ("llm", "queue_size"))
        check_fields(self.ingest.field_map, "ingest.fields")
        self.ingest.site_map  # noqa: B018 - parsed to raise on a malformed value
        if self.answer.reader not in ("extractive", "generative"):
            raise ConfigError(f"answer.reader must be extractive or generative, not {self.answer.reader!r}")
        adapter = self.llm.adapter.strip().lower()
        if adapter not in ("", "off", "none", "false", "auto") and not self.llm.adapter.lower().endswith(".gguf"):
            raise ConfigError(f"llm.adapter must be auto, off or a path to a .gguf adapter, not {self.llm.adapter!r}")
        if self.answer.as_of not in ("", "newest") and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.answer.as_of):
            raise ConfigError(f"answer.as_of must be empty, newest or an ISO date (YYYY-MM-DD), "
                              f"not {self.answer.as_of!r}")
        if self.answer.refuse_on_none not in ("auto", "on", "off"):
            raise ConfigError(f"answer.refuse_on_none must be auto, on or off, not {self.answer.refuse_on_none!r}")
        if self.answer.max_span_tokens <= 0:
            raise ConfigError("answer.max_span_tokens must be positive")
        if self.retrieval.source_margin < 0:
            raise ConfigError("retrieval.source_margin must be 0 or more")
        for section, name in positive:
            if getattr(getattr(self, section), name) <= 0:
                raise ConfigError(f"{section}.{name} must be positive")

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
        """Defaults, then the TOML file, then the environment."""
        env = os.environ if env is None else env
        cfg = cls()
        if env.get("AKHBAR_HOME"):
            cfg = replace(cfg, home=Path(env["AKHBAR_HOME"]).expanduser())
        if env.get("AKHBAR_MODELS_DIR"):
            cfg = replace(cfg, models_dir=Path(env["AKHBAR_MODELS_DIR"]).expanduser())
        if path:
            file = Path(path)
        elif env.get("AKHBAR_CONFIG"):
            file = Path(env["AKHBAR_CONFIG"])
        else:
            file = cfg.home / "akhbar.toml"
        if path is not None and not file.exists():
            raise ConfigError(f"config file not found: {file}")
        if file.exists():
            cfg = cfg._apply_toml(file)
        cfg = cfg._apply_env(env)
        cfg.validate()
        return cfg

    def _apply_toml(self, file: Path) -> Config:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read config file {file}: {e}") from e
        top: dict[str, Any] = {}
        for key, value in data.items():
            if key in _PATH_FIELDS:
                top[key] = Path(str(value)).expanduser()
            elif key in _SECTIONS:
                if not isinstance(value, dict):
                    raise ConfigError(f"{file}: [{key}] must be a table")
                top[key] = _replace_section(key, getattr(self, key), value, where=str(file))
            else:
                raise ConfigError(f"{file}: unknown config key {key!r}")
        return replace(self, **top)

    def _apply_env(self, env: Mapping[str, str]) -> Config:
        top: dict[str, Any] = {}
        for section in _SECTIONS:
            current = getattr(self, section)
            updates: dict[str, Any] = {}
            for f in fields(current):
                var = f"AKHBAR_{section.upper()}_{f.name.upper()}"
                if var in env:
                    updates[f.name] = env[var]
            if section == "llm" and "ollama_host" not in updates and env.get("OLLAMA_HOST"):
                updates["ollama_host"] = env["OLLAMA_HOST"]
            if updates:
                top[section] = _replace_section(section, current, updates, where="environment")
        if env.get("AKHBAR_CHROMA_URL") and "AKHBAR_STORE_URL" not in env:
            top["store"] = replace(top.get("store", self.store), url=env["AKHBAR_CHROMA_URL"])
        if env.get("AKHBAR_CHROMA_TOKEN") and "AKHBAR_STORE_TOKEN" not in env:
            top["store"] = replace(top.get("store", self.store), token=env["AKHBAR_CHROMA_TOKEN"])
        if env.get("AKHBAR_PROMPTS_DIR"):
            top["prompts_dir"] = Path(env["AKHBAR_PROMPTS_DIR"])
        return replace(self, **top) if top else self


_SECTIONS = ("store", "embed", "ingest", "llm", "retrieval", "answer")
_PATH_FIELDS = ("home", "models_dir", "prompts_dir")


def _valid_collection(name: str) -> bool:
    import re

    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]", name))


def _replace_section(section: str, current: Any, values: Mapping[str, Any], where: str = "overrides") -> Any:
    known = {f.name: f for f in fields(current)}
    converted: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown field {section}.{key}")
        optional = str(known[key].type).endswith("| None")
        if optional and (raw is None or (isinstance(raw, str) and raw.strip().lower() in ("off", "none", ""))):
            converted[key] = None
            continue
        target = float if optional else type(getattr(current, key))
        if target is str and isinstance(raw, Mapping):
            # A TOML table for a "key=value, …" setting (ingest.fields, ingest.sites).
            raw = ", ".join(f"{k}={v}" for k, v in raw.items())
        try:
            if target is bool and isinstance(raw, str):
                value: Any = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                value = target(raw)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}: {section}.{key} must be {target.__name__}, got {raw!r}") from e
        converted[key] = value
    return replace(current, **converted)
