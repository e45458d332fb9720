"""Akhbar: retrieval-augmented Q&A over a news corpus, Arabic first.

``from rag import Akhbar`` is the entry point; results are the frozen dataclasses in
``rag.types``; errors derive from ``rag.errors.AkhbarError``. Importing this package is
cheap: torch, chromadb and llama.cpp load only when first used.
"""

from rag.akhbar import Akhbar
from rag.config import Config
from rag.errors import AkhbarError, BackendError, ConfigError, IngestError, ModelError, StoreError
from rag.types import Answer, Chunk, Citation, Hit, Source

__all__ = [
    "Akhbar",
    "AkhbarError",
    "Answer",
    "BackendError",
    "Chunk",
    "Citation",
    "Config",
    "ConfigError",
    "Hit",
    "IngestError",
    "ModelError",
    "Source",
    "StoreError",
]
