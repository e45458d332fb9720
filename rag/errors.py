"""The exception tree every Akhbar layer raises.

Library errors (chromadb, llama.cpp, ollama, transformers) are wrapped at the adapter
boundary with ``raise ... from e`` so the CLI and UI can show ``str(err)`` and never a
traceback. This module holds no logic beyond the classes.
"""

from __future__ import annotations


class AkhbarError(Exception):
    """Base class: the message is meant for the person using Akhbar."""


class ConfigError(AkhbarError):
    """A config file, field or environment override is invalid."""


class ModelError(AkhbarError):
    """A model is missing, unprepared, or fails its integrity check."""


class IngestError(AkhbarError):
    """A document could not be read, parsed or stored."""


class StoreError(AkhbarError):
    """The vector store could not be opened, read or written."""


class BackendError(AkhbarError):
    """The LLM backend (Ollama or llama.cpp) failed or is unreachable."""
