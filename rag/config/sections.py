"""The settings sections of ``Config``, one frozen dataclass each, with their defaults, and
the built-in model names. Pure data and parsing of "key=value" settings; loading and
validation live in ``rag.config``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError

BACKENDS = ("auto", "ollama", "llamacpp")

# Built-in model names resolve to files that `akhbar models prepare` creates.
BUILTIN_EMBED = "multilingual-e5-small"
BUILTIN_LLMS = ("qwen2.5-coder-1.5b", "qwen2.5-0.5b")
# The reader's LoRA adapter, trained by ``akhbar train-reader`` and kept in the repo.
PACKAGED_ADAPTER = Path(__file__).resolve().parents[2] / "reader" / "akhbar-reader.gguf"


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
    # Small batches pad less.
    batch_size: int = 8
    chunk_tokens: int = 350
    # auto: bfloat16 where the CPU computes it natively (AMX / AVX512-BF16), else float32.
    # Or "float32" / "bfloat16" explicitly.
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
    # backend above). "onnx": the same model's ONNX export (made by `akhbar models prepare`)
    # through onnxruntime, the same float32 vectors without importing torch, which is most
    # of a cold `akhbar ask`. "auto": that when the export is there, else sentence-transformers.
    # "sentence-transformers": always that.
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
    # so a new process reads only the evidence and the question.
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
    # taught to write them).
    adapter: str = "auto"


@dataclass(frozen=True)
class RetrievalConfig:
    # hybrid = BM25 (Arabic-normalised, stemmed) fused with dense mE5 by reciprocal rank.
    mode: str = "hybrid"
    candidates: int = 50  # per retriever, before fusion
    top_k: int = 4
    # Budget, in LLM tokens, for the source excerpts placed in the prompt.
    context_tokens: int = 360
    # The small model refuses or drifts when shown many sentences: the best few are kept.
    max_sentences: int = 3
    # Only articles whose best sentence scores within this margin of the best article's are
    # shown (the others are distractors the small model answers from); near-ties stay, and
    # so does an article with a sentence that clears the similarity floor on its own.
    source_margin: float = 0.05
    # Refuse without asking the model when no retrieved sentence has at least this cosine
    # to the question (``_cross`` when the two are in different languages); "off" = no
    # floor. Fitted by `akhbar calibrate` for the embedding model named in floors_fitted_for:
    # with another model they do not apply.
    min_similarity: float | None = 0.826
    min_similarity_cross: float | None = 0.762
    floors_fitted_for: str = BUILTIN_EMBED
    # "Also reported by" and the timeline's grouping: another article is the same story
    # when its chunk nearest to this article's lead has at least this cosine (packaged mE5)
    # and it was published within story_days. Fitted by `python bench/stories.py --fit`.
    story_similarity: float = 0.94
    story_days: int = 2
    # …or a cosine of at least story_similarity_low while its nearest chunk scores at least
    # story_lexical of the lead's own BM25 score (0 = cosine only). Fitted the same way.
    story_similarity_low: float = 0.92
    story_lexical: float = 0.35
    # The timeline lists every article whose best chunk has at least this cosine with the
    # query (fitted the same way, on the calibration stories' queries).
    timeline_similarity: float = 0.905


@dataclass(frozen=True)
class AnswerConfig:
    """How answers are read and when they are withheld (rag/answer/, rag/reader.py)."""

    # extractive: who/what/when/where/how many/how much questions are answered by copying
    # a span of the evidence (constrained decoding, llama.cpp); why/how/summaries and
    # backends that cannot constrain decoding generate freely. generative: always free.
    reader: str = "extractive"
    # A copied span whose mean token log-probability (the model's own, unconstrained) is
    # below this is withheld as a guess; "off" = never. Fitted by `akhbar calibrate`.
    min_span_logprob: float | None = -5.17
    # After copying, the model is asked whether the text gives that span as the answer; the
    # span is withheld when log P(yes) - log P(no) is below this. "off" = never asked.
    min_verify_margin: float | None = None
    # The decide stage (rag/answer/decide.py): a copied span is a short answer only when the
    # fitted confidence model (rag/answer/confidence.json) gives it at least this P(right);
    # below it, and for any reply the checks withhold, the closest passages are quoted
    # instead. "off": answer every span the checks let through, refuse the rest (no passages).
    # Fitted by `akhbar calibrate --confidence` (out of fold) for short-answer precision 0.80, the
    # most the calibration data holds with candidates ranked (docs/decisions.md, "Trust").
    min_confidence: float | None = 0.5798
    # How many / how much / when: every number or date of the evidence is a candidate beside
    # the model's copy, scored by the model and the fitted ranker (rag/answer/rank.py,
    # ranker.json); the best is read. false: the copy stands.
    rank_candidates: bool = True
    # The reader may refuse as its first step: when the model would rather write the
    # refusal word ("لا يوجد"/"none") than start any span it may copy (their first-token
    # log-probabilities), the answer is refused. "auto": only with the reader adapter, which
    # was taught to write it (rag/teach/); "on"; "off".
    refuse_on_none: str = "auto"
    # ... by at least this much (log P(refusal word) - log P(span's first token) > margin).
    # Fitted by `akhbar calibrate` (with the adapter) on the calibration split.
    none_margin: float = 0.0
    # The longest span, in model tokens.
    max_span_tokens: int = 24
    # Evidence for a copied answer: sentences cut into pieces of at most this many words
    # (at clause punctuation where possible), the best few within a token budget.
    evidence_words: int = 24
    evidence_units: int = 6
    evidence_tokens: int = 260
    # ... a piece holding what the question's type asks for (a number for how many / how much,
    # a date for when) scores this much more (fitted on the news calibration split).
    evidence_type_bonus: float = 0.1
    # Time expressions in a question ("أمس", "last week", "منذ بداية أغسطس") become a date
    # filter (rag/when.py), unless the question already has one.
    time_filters: bool = True
    # What "today" is for them: "" = the day the question is asked, "newest" = the newest
    # article date in the collection (an archive), or an ISO date.
    as_of: str = ""
