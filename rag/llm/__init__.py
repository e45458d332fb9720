"""LLM adapters behind one small streaming protocol: embedded llama.cpp
(``llama-cpp-python``) and Ollama (the official ``ollama`` client).

Both take chat messages and yield text pieces; both apply the model's own chat template
(the GGUF's in llama.cpp, the Modelfile's in Ollama), a repeat penalty (the small model
loops on a word without one) and a token limit. Only the embedded model also reads by
copying a span of the evidence.

- ``base``: the protocols and small types (``LLM``, ``SpanReader``, ``GenerationStats``…).
- ``llamacpp``: ``LlamaCppLLM``; ``cache``: its KV-state and vocabulary files.
- ``constrain``: copy-constrained decoding's pure logic (``CopyConstraint``).
- ``ollama``: ``OllamaClient``, ``OllamaLLM``, ``create_ollama_model``.
- ``select``: ``select_llm`` for ``llm.backend``, and ``FallbackLLM``.

Heavy imports (``llama_cpp``, ``ollama``, numpy) happen on first use, so importing this
package loads no backend. The names below are re-exported for ``from rag.llm import …``.
"""

from rag.llm.base import LLM, CopiedSpan, GenerationStats, Message, ReplyScore, SpanReader
from rag.llm.llamacpp import LlamaCppLLM
from rag.llm.ollama import OllamaClient, OllamaLLM, create_ollama_model
from rag.llm.select import FallbackLLM, Selection, select_llm

__all__ = [
    "LLM",
    "CopiedSpan",
    "FallbackLLM",
    "GenerationStats",
    "LlamaCppLLM",
    "Message",
    "OllamaClient",
    "OllamaLLM",
    "ReplyScore",
    "Selection",
    "SpanReader",
    "create_ollama_model",
    "select_llm",
]
