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

from rag.errors import ConfigError

BACKENDS = ("auto", "ollama", "llamacpp")

# Built-in model names resolve to files that `akhbar models prepare` creates.
BUILTIN_EMBED = "multilingual-e5-small"
BUILTIN_LLMS = ("qwen2.5-coder-1.5b", "qwen2.5-0.5b")
# The reader's LoRA adapter, trained by ``akhbar train-reader`` and kept in the repo.
PACKAGED_ADAPTER = Path(__file__).resolve().parent.parent / "reader" / "akhbar-reader.gguf"


@dataclass(frozen=True)
class StoreConfig:
    collection: str = "akhbar"
    # Empty: the embedded PersistentClient under <home>/chroma. http(s)://HOST:PORT: a
    # `chroma run` server (or Chroma's distributed deployment) through chromadb's HttpClient.
    url: str = ""
    token: str = ""  # sent as "Authorization: Bearer <token>" (Chroma's token auth)
    headers: str = ""  # extra HTTP headers, "Name: value; Other: value"
    tenant: str = "default_tenant"
    # The server database, created when missing. Empty: one per data home
    # ("akhbar_<hash of home>"), because the manifest beside it lives in that home and the
    # two must stay in step; name one explicitly to move or share a home.
    database: str = ""


@dataclass(frozen=True)
class EmbedConfig:
    # A built-in name or a path to any local sentence-transformers folder.
    model: str = BUILTIN_EMBED
    # Small batches pad less: bfloat16 on 2 cores measured 4.1x float32 at batch 8, 3.8x at 16.
    batch_size: int = 8
    chunk_tokens: int = 350
    # auto: bfloat16 where the CPU computes it natively (AMX / AVX512-BF16: ~4x faster than
    # float32, cosine ~1.0 to it), else float32. Or "float32" / "bfloat16" explicitly.
    precision: str = "auto"
    # Compile the embedding model (torch.compile, inductor) once a process has embedded
    # this many passages: a large ingest repays the compile's warm-up, a small one does not.
    # 0 = never. Falls back to eager when compiling fails (no C++ compiler, say).
    compile_after: int = 0
    # "sentence-transformers" (the packaged mE5, or any local folder in ``model``) or
    # "ollama": embeddings from Ollama's /api/embed with ``ollama_model`` (e.g. bge-m3).
    backend: str = "sentence-transformers"
    ollama_model: str = "bge-m3"
    # What embeds questions and evidence sentences at answer time (ingest always uses the
    # backend above). "auto": rag.bert's NumPy forward pass of the same model when the
    # folder is a mean-pooled BERT (the packaged mE5 is): the same float32 vectors without
    # importing torch, ~10 s off a cold `akhbar ask`. "sentence-transformers": always that.
    query_engine: str = "auto"


@dataclass(frozen=True)
class IngestConfig:
    max_file_mb: float = 50.0
    max_zip_members: int = 10_000
    max_zip_total_mb: float = 2048.0
    # MinHash Jaccard (word 5-gram shingles) above which two articles are one story.
    near_duplicate_threshold: float = 0.8
    fetch_timeout_s: float = 20.0
    max_feed_entries: int = 500
    max_upload_files: int = 500  # files in one browser upload
    # JSON/JSONL field names for an archive that uses its own, as "date=crawl_time,
    # site=paper" (or a TOML table: fields = { date = "crawl_time" }). Known keys:
    # title, text, date, url, site, author. Unmapped ones are looked for under the usual names.
    fields: str = ""
    # More site names, "id-or-host=Name, …" (or a table), over the built-in table in rag/sites.py.
    sites: str = ""

    @property
    def field_map(self) -> dict[str, str]:
        return parse_pairs(self.fields, "ingest.fields")

    @property
    def site_map(self) -> dict[str, str]:
        return parse_pairs(self.sites, "ingest.sites")


FIELD_KEYS = ("title", "text", "date", "url", "site", "author")


def check_fields(mapping: Mapping[str, str], where: str) -> None:
    """A JSON field mapping may only name the metadata ingest knows (FIELD_KEYS)."""
    for key in mapping:
        if key not in FIELD_KEYS:
            raise ConfigError(f"{where}: unknown field {key!r} (known: {', '.join(FIELD_KEYS)})")


def parse_pairs(text: str, name: str) -> dict[str, str]:
    """"a=b, c=d" → {"a": "b", "c": "d"}; a clear ConfigError for anything else."""
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise ConfigError(f"{name} must be 'key=value, …', not {part.strip()!r}")
        out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class LLMConfig:
    backend: str = "auto"
    # A built-in name or a path to a GGUF file, for the embedded llama.cpp backend.
    model: str = "qwen2.5-coder-1.5b"
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "qwen2.5-coder:1.5b"
    timeout_s: float = 300.0
    # Connection errors and 5xx answers before the first token are retried with backoff
    # (retry_backoff_s, doubled each time); a reply cut off mid-stream is not repeated.
    retries: int = 3
    retry_backoff_s: float = 0.5
    # backend = auto: when Ollama was chosen but fails before the first token of an answer,
    # the embedded model answers that question instead (the Answer says so).
    fallback: bool = True
    # Questions one Akhbar object accepts at once (answering or waiting for the model);
    # beyond that a question is refused at once with a "busy" error instead of piling up.
    queue_size: int = 64
    # 0 means "all cores"; OMP_WAIT_POLICY=PASSIVE keeps that safe under contention.
    threads: int = 0
    n_ctx: int = 2048
    # llama.cpp: keep the KV state of the reader's instruction under home/cache/llm-state,
    # so a new process reads only the evidence and the question (~1 s of a cold ask).
    prefix_cache: bool = True
    max_tokens: int = 200
    # Greedy decoding: a grounded answer should not change from one run to the next.
    temperature: float = 0.0
    seed: int = 0
    repeat_penalty: float = 1.15
    # The reader's LoRA adapter (``akhbar train-reader``) for the embedded llama.cpp model:
    # "auto" = the repo's reader/akhbar-reader.gguf when it was trained on the configured
    # base GGUF (same sha256), "off" = none, or a path to a GGUF adapter. It applies only
    # while the reader copies a span (free answers are written without it: it was never
    # taught to write them). On the news report split it raised gold contained from 0.52 to
    # 0.62 and cut answered-but-wrong from 0.35 to 0.20; on XQuAD-ar (100 questions) it
    # cut answered-but-wrong from 0.51 to 0.33 for two fewer right answers (0.32 -> 0.30).
    adapter: str = "auto"


@dataclass(frozen=True)
class RetrievalConfig:
    # hybrid = BM25 (Arabic-normalised, stemmed) fused with dense mE5 by reciprocal rank.
    mode: str = "hybrid"
    candidates: int = 50  # per retriever, before fusion
    top_k: int = 4
    # Budget, in LLM tokens, for the source excerpts placed in the prompt.
    context_tokens: int = 360
    # The 1.5B model refuses or drifts when shown many sentences (measured on the seed
    # questions: 3 answered, 4 refused the English one); the best few are kept.
    max_sentences: int = 3
    # Only articles whose best sentence scores within this margin of the best article's are
    # shown. On 164 XQuAD-ar questions past the floor, the article holding the answer was
    # [1] 146 times and [2] once (0.008 behind); the others were distractors the model
    # answered and cited from. Near-ties (the same story from two outlets) stay, and so does
    # an article with a sentence that clears the retrieval floor on its own.
    source_margin: float = 0.05
    # Refuse without asking the model when no retrieved sentence has at least this cosine
    # to the question (``_cross`` when the two are in different languages). -1 = auto: the
    # floors calibrated for the packaged mE5 (rag/answer.py), none for other models.
    min_similarity: float = -1.0
    min_similarity_cross: float = -1.0
    # "Also reported by" and the timeline's grouping: another article is the same story
    # when its chunk nearest to this article's lead has at least this cosine (packaged mE5)
    # and it was published within story_days. Fitted by `python bench/stories.py --fit` on
    # the calibration half of the hand-made story list (bench/stories/stories.json).
    story_similarity: float = 0.94
    story_days: int = 2
    # …or a cosine of at least story_similarity_low while its nearest chunk scores at least
    # story_lexical of the lead's own BM25 score (0 = cosine only). Fitted with
    # story_similarity, on the calibration half: papers named 0.97, precision 0.93.
    story_similarity_low: float = 0.92
    story_lexical: float = 0.35
    # The timeline lists every article whose best chunk has at least this cosine with the
    # query (fitted the same way, on the calibration stories' queries).
    timeline_similarity: float = 0.905


@dataclass(frozen=True)
class AnswerConfig:
    """How answers are read and when they are withheld (rag/answer.py, rag/reader.py)."""

    # extractive: who/what/when/where/how many/how much questions are answered by copying
    # a span of the evidence (constrained decoding, llama.cpp); why/how/summaries and
    # backends that cannot constrain decoding generate freely. generative: always free.
    reader: str = "extractive"
    # A copied span whose mean token log-probability (the model's own, unconstrained) is
    # below this is withheld as a guess. -99 = never. Fitted by `akhbar calibrate` on the
    # calibration split of bench/newsqa (46 questions; the packaged 1.5B): -5.17. Confident
    # wrong spans and confident near-miss answers score alike, so it refuses little.
    min_span_logprob: float = -5.17
    # After copying, the model is asked whether the text gives that span as the answer;
    # the span is withheld when log P(yes) - log P(no) is below this. -99 = never asked.
    # Off: on the calibration split the packaged 1.5B says yes to nearly everything (Arabic
    # margins 5.8-8.6 for right, wrong and unanswerable spans alike), so it cannot separate.
    min_verify_margin: float = -99.0
    # The reader may refuse as its first step: when the model would rather write the
    # refusal word ("لا يوجد"/"none") than start any span it may copy (their first-token
    # log-probabilities), the answer is refused. "auto": only with the reader adapter, which
    # was taught to write it (rag/teach.py); "on"; "off".
    refuse_on_none: str = "auto"
    # ... by at least this much (log P(refusal word) - log P(span's first token) > margin).
    # Fitted by `akhbar calibrate` (with the adapter) on the calibration split.
    none_margin: float = 0.0
    # The longest span, in model tokens.
    max_span_tokens: int = 24
    # Evidence for a copied answer: sentences cut into pieces of at most this many words
    # (at clause punctuation where possible), the best few within a token budget.
    evidence_words: int = 24
    evidence_units: int = 4
    evidence_tokens: int = 220
    # Time expressions in a question ("أمس", "last week", "منذ بداية أغسطس") become a date
    # filter (rag/when.py), unless the question already has one.
    time_filters: bool = True
    # What "today" is for them: "" = the day the question is asked, "newest" = the newest
    # article date in the collection (an archive), or an ISO date.
    as_of: str = ""


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
    prompts_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent / "prompts")
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
        if self.embed.query_engine not in ("auto", "numpy", "sentence-transformers"):
            raise ConfigError("embed.query_engine must be auto, numpy or sentence-transformers, "
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
        target = type(getattr(current, key))
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
