"""Akhbar: retrieval-augmented Q&A over a news corpus, Arabic first.

``from rag import Akhbar`` is the entry point; results are the frozen dataclasses in
``rag.types``; errors derive from ``rag.errors.AkhbarError``. Importing this package is
cheap: torch, chromadb and llama.cpp load only when first used.
"""

from typing import TYPE_CHECKING, Any

from rag.articles import article_offset
from rag.config import Config
from rag.conversation import Conversation
from rag.errors import AkhbarError, BackendError, ConfigError, IngestError, ModelError, StoreError
from rag.export import EXTENSIONS as EXPORT_EXTENSIONS
from rag.export import FORMATS as EXPORT_FORMATS
from rag.retrieval import Filters
from rag.text import detect_language, shared_words
from rag.types import (
    Answer,
    AnswerKind,
    ArticleText,
    Chunk,
    Citation,
    DoctorReport,
    Document,
    Hit,
    Removed,
    SentenceSupport,
    Source,
    SourceRef,
    Stats,
    Timeline,
    TimelineEntry,
)
from rag.vector_phase import VectorProgress
from rag.when import Window

if TYPE_CHECKING:
    from rag.akhbar import Akhbar


def __getattr__(name: str) -> Any:
    # The facade drives ingest, and ingest builds on this package's lower modules: imported
    # here eagerly, `import ingest.pipeline` first would re-enter itself through the facade.
    if name == "Akhbar":
        from rag.akhbar import Akhbar

        return Akhbar
    raise AttributeError(f"module 'rag' has no attribute {name!r}")

__all__ = [
    "EXPORT_EXTENSIONS",
    "EXPORT_FORMATS",
    "Akhbar",
    "AkhbarError",
    "Answer",
    "AnswerKind",
    "ArticleText",
    "BackendError",
    "Chunk",
    "Citation",
    "Config",
    "ConfigError",
    "Conversation",
    "DoctorReport",
    "Document",
    "Filters",
    "Hit",
    "IngestError",
    "ModelError",
    "Removed",
    "SentenceSupport",
    "Source",
    "SourceRef",
    "Stats",
    "StoreError",
    "Timeline",
    "TimelineEntry",
    "VectorProgress",
    "Window",
    "article_offset",
    "detect_language",
    "shared_words",
]
