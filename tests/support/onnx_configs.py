"""Configs for the query-embedding engine tests (tests/unit and tests/integration
test_cold_start.py): a model folder with no ONNX export, and a config with the engine set."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from rag import Config


def unexported(tmp_path: Path) -> Config:
    """A config whose model folder is a sentence-transformers folder with no ONNX export."""
    folder = tmp_path / "models" / "multilingual-e5-small"
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text(json.dumps([{"type": "sentence_transformers.models.Transformer"},
                                                      {"type": "sentence_transformers.models.Pooling",
                                                       "path": "1_Pooling"}]))
    (folder / "config.json").write_text(json.dumps({"model_type": "xlm-roberta", "hidden_act": "gelu"}))
    return Config(home=tmp_path / "home", models_dir=tmp_path / "models")


def with_engine(cfg: Config, engine: str) -> Config:
    return replace(cfg, embed=replace(cfg.embed, query_engine=engine))
