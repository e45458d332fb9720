"""A cold `akhbar ask` (issue 14), without a model: the query-engine setting, an ONNX export
that is stale or cannot be made, and unit runs refusing to load the ONNX engine."""

import os
from pathlib import Path

import pytest

from rag import Akhbar, Config
from rag.embedder import OnnxEmbedder, SentenceTransformerEmbedder
from rag.errors import ConfigError, ModelError
from rag.llm import LlamaCppLLM
from rag.models_onnx import GRAPH_FILE, export_onnx, onnx_dir, onnx_status
from tests.conftest import _forbid_model_loads
from tests.support.onnx_configs import unexported as _unexported
from tests.support.onnx_configs import with_engine as _engine


def test_query_engine_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"embed\.query_engine"):
        Config().with_overrides(embed={"query_engine": "torchscript"})
    cfg = _unexported(tmp_path)
    assert "not exported" in onnx_status(cfg.embed_model_path)["problem"]
    with pytest.raises(ModelError, match=r"query_engine = onnx.*akhbar models prepare"):
        _ = Akhbar(_engine(cfg, "onnx")).query_embedder


def test_a_stale_or_unsupported_export_is_not_used(tmp_path: Path) -> None:
    from rag.models_onnx import DATA_FILE, _write_record

    folder = _unexported(tmp_path).embed_model_path
    out = onnx_dir(folder)
    out.mkdir()
    for name in (GRAPH_FILE, DATA_FILE):
        (out / name).write_bytes(b"graph")
    _write_record(out, folder, dim=384)
    assert onnx_status(folder)["ready"]
    config = folder / "config.json"
    os.utime(config, ns=(config.stat().st_atime_ns, config.stat().st_mtime_ns + 1_000_000_000))
    assert "older than the model folder" in onnx_status(folder)["problem"]
    _write_record(out, folder, unsupported="its pooling is CLS")
    assert onnx_status(folder)["problem"] == "cannot be exported to ONNX: its pooling is CLS"
    with pytest.raises(ModelError, match="its pooling is CLS"):
        export_onnx(folder)  # recorded: not loaded and tried again


def test_unit_runs_refuse_the_onnx_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in (OnnxEmbedder, SentenceTransformerEmbedder, LlamaCppLLM):
        monkeypatch.setattr(cls, "__init__", cls.__init__)  # restored after the test
    _forbid_model_loads()
    with pytest.raises(RuntimeError, match="AKHBAR_TEST_UNIT"):
        OnnxEmbedder(tmp_path)
