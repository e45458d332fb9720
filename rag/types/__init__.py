"""The small frozen result types that cross Akhbar's public API: what an answer is made of
(``rag.types.answer``) and what the library stores and reports (``rag.types.library``)."""

from rag.types.answer import (
    REFUSAL_REASONS,
    Answer,
    AnswerKind,
    Chunk,
    Citation,
    Diagnostics,
    Hit,
    ReaderKind,
    RefusalReason,
    SentenceSupport,
    Source,
    page_at,
)
from rag.types.library import (
    ArticleText,
    DoctorReport,
    Document,
    EmbeddingInfo,
    LLMInfo,
    Removed,
    SourceRef,
    Stats,
    StoreCounts,
    Timeline,
    TimelineEntry,
)

__all__ = ["REFUSAL_REASONS", "Answer", "AnswerKind", "ArticleText", "Chunk", "Citation", "Diagnostics", "DoctorReport",
           "Document", "EmbeddingInfo", "Hit", "LLMInfo", "ReaderKind", "RefusalReason", "Removed",
           "SentenceSupport", "Source", "SourceRef", "Stats", "StoreCounts", "Timeline", "TimelineEntry", "page_at"]
