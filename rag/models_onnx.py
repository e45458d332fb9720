"""The embedding model's ONNX export, for the question side of retrieval.

``akhbar models prepare`` traces the sentence-transformers folder's transformer once with
torch's TorchScript exporter (it needs the ``onnx`` package; the default dynamo exporter
would also need onnxscript) into ``<model>/onnx/model.onnx``. The weights go to
``model.onnx.data`` beside it, so that onnxruntime memory-maps them instead of parsing them
out of the graph file. ``export.json`` records what the graph was made from (size and mtime
of each file of the folder) and how a sentence vector is made from its ``token_embeddings``
output: the truncation length, mean pooling (prompt included), normalisation, the prompts.
:func:`onnx_status` compares that record with the folder by ``stat`` alone, so a process
that only asks knows whether the export is current without importing torch.

It exports only what :class:`rag.embedder.OnnxEmbedder` computes exactly: a Transformer,
mean pooling over the prompt and the text, and optionally Normalize; anything else stays on
sentence-transformers. It does not quantise or optimise the graph (onnxruntime optimises it
when a session opens), and it embeds nothing: :class:`rag.embedder.OnnxEmbedder` does.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.errors import ModelError

ONNX_DIR = "onnx"
GRAPH_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
RECORD_FILE = "export.json"
_PARTIAL = ONNX_DIR + ".partial"
# Bump when the graph's inputs, outputs or the record's meaning change: older exports are redone.
FORMAT = 1
# Widely supported by onnxruntime builds, and has every operator a BERT-like encoder needs.
OPSET = 17

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


def onnx_dir(model: Path) -> Path:
    return Path(model) / ONNX_DIR


def _fingerprint(model: Path) -> dict[str, list[int]]:
    """Size and mtime of every file the vectors depend on (all but the export and docs)."""
    out: dict[str, list[int]] = {}
    for f in sorted(model.rglob("*")):
        rel = f.relative_to(model)
        if rel.parts[0] in (ONNX_DIR, _PARTIAL) or f.suffix == ".md" or not f.is_file():
            continue
        st = f.stat()
        out[rel.as_posix()] = [st.st_size, st.st_mtime_ns]
    return out


def read_record(model: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((onnx_dir(model) / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def onnx_status(model: Path) -> dict[str, Any]:
    """``{"path", "ready", "problem"}``: whether the export exists and matches the folder."""
    model = Path(model)
    graph = onnx_dir(model) / GRAPH_FILE
    out: dict[str, Any] = {"path": str(graph), "ready": False, "problem": ""}
    record = read_record(model)
    if not model.is_dir():
        out["problem"] = f"no model folder at {model}"
    elif record is None:
        out["problem"] = f"not exported to ONNX ({graph} is missing)"
    elif record.get("format") != FORMAT:
        out["problem"] = f"the ONNX export at {graph} is of an older format"
    elif record.get("unsupported"):
        out["problem"] = f"cannot be exported to ONNX: {record['unsupported']}"
    elif record.get("source") != _fingerprint(model):
        out["problem"] = f"the ONNX export at {graph} is older than the model folder"
    elif not graph.is_file() or not (onnx_dir(model) / DATA_FILE).is_file():
        out["problem"] = f"the ONNX export at {graph} is incomplete"
    else:
        out["ready"] = True
    return out


def onnx_ready(model: Path) -> bool:
    return bool(onnx_status(model)["ready"])


def _pooling(st: Any) -> tuple[bool, str]:
    """(normalize, "") when the modules are Transformer, mean Pooling over the prompt
    too, optionally Normalize; else (False, why not)."""
    modules = list(st)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        return False, f"its modules are {' + '.join(kinds)}, not Transformer + Pooling (+ Normalize)"
    pooling = modules[1].get_config_dict()
    mean = pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens") is True
    if not mean or any(pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens")):
        return False, f"its pooling is {pooling}, not mean pooling"
    if not pooling.get("include_prompt", True):
        return False, "its pooling leaves the prompt out"
    if getattr(modules[0], "do_lower_case", False):
        return False, "its transformer lower-cases text outside the tokenizer"
    return len(kinds) == 3, ""


def _write_record(tmp: Path, model: Path, **fields: Any) -> None:
    record = {"format": FORMAT, "source": _fingerprint(model), **fields}
    (tmp / RECORD_FILE).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")


def _replace_dir(tmp: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)


def export_onnx(model: Path, progress: Progress = _noop) -> Path:
    """Export the sentence-transformers folder ``model`` to ``<model>/onnx`` (idempotent).
    ``ModelError`` when it cannot be exported; the reason is recorded for ``models status``."""
    model = Path(model)
    if onnx_ready(model):
        return onnx_dir(model) / GRAPH_FILE
    record = read_record(model)
    if (record and record.get("format") == FORMAT and record.get("unsupported")
            and record.get("source") == _fingerprint(model)):
        raise ModelError(f"cannot export {model} to ONNX: {record['unsupported']}")
    if not (model / "tokenizer.json").is_file():
        raise ModelError(f"cannot export {model} to ONNX: it has no tokenizer.json")
    progress(f"exporting {model.name} to ONNX for answering questions")
    # Loading from the folder must neither try the hub nor draw progress bars in `make models`.
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(key, "1")
    import torch
    from sentence_transformers import SentenceTransformer

    st: Any
    try:
        st = SentenceTransformer(str(model), device="cpu", local_files_only=True)
    except Exception as e:  # library errors vary by version; surface one clear message
        raise ModelError(f"cannot load {model} to export it to ONNX: {e}") from e
    tmp = model / _PARTIAL
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    normalize, unsupported = _pooling(st)
    if unsupported:  # recorded, so that `models status` says why and prepare does not retry
        _write_record(tmp, model, unsupported=unsupported)
        _replace_dir(tmp, onnx_dir(model))
        raise ModelError(f"cannot export {model} to ONNX: {unsupported}")
    transformer = st[0]
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids")
             if n in transformer.tokenizer.model_input_names]
    if names[:2] != ["input_ids", "attention_mask"]:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(f"cannot export {model} to ONNX: its tokenizer gives {names}")
    encoder = transformer.model.float()

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, *inputs: Any) -> Any:
            return self.encoder(**dict(zip(names, inputs))).last_hidden_state

    graph = Graph().eval()  # the exporter restores the wrapper's flag onto every submodule

    def batch(texts: list[str]) -> dict[str, Any]:
        enc = transformer.tokenizer(texts, padding=True, return_tensors="pt")
        return {n: enc[n] if n in enc else torch.zeros_like(enc["input_ids"]) for n in names}

    # Two lengths, so the traced graph pads and masks; checked below at other lengths.
    example = batch(["query: traced at two lengths", "passage: حتى يكون القناع جزءا من الرسم البياني"])
    try:
        traced = tmp / "traced.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter warns that it is deprecated and about traced shapes.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph, tuple(example[n] for n in names), str(traced), dynamo=False, opset_version=OPSET,
                input_names=names, output_names=["token_embeddings"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "token_embeddings"]},
            )
        import onnx

        # Re-saved with the weights in a file of their own, which onnxruntime memory-maps.
        proto = onnx.load(str(traced))
        traced.unlink()
        onnx.save_model(proto, str(tmp / GRAPH_FILE), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=DATA_FILE, size_threshold=1024)
        del proto
        dim = _check(tmp, batch, graph, names)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, ModelError):
            raise
        raise ModelError(f"cannot export {model} to ONNX: {e}") from e
    _write_record(tmp, model, inputs=names, output="token_embeddings", dim=dim,
                  max_tokens=int(transformer.max_seq_length),
                  normalize=normalize, prompts=dict(st.prompts or {}), torch=torch.__version__, opset=OPSET)
    _replace_dir(tmp, onnx_dir(model))
    return onnx_dir(model) / GRAPH_FILE


def _check(folder: Path, batch: Callable[[list[str]], dict[str, Any]], graph: Any, names: list[str]) -> int:
    """The exported graph must give torch's output at lengths and a batch size it was not
    traced at: a shape or branch frozen by tracing would show here, not in answers. Returns
    the width of its token vectors, which mean pooling keeps."""
    import numpy as np
    import onnxruntime as ort
    import torch

    inputs = batch(["short", "query: كم عدد الطلاب المقبولين في جامعة الملك سعود هذا العام؟",
                    "A third, longer sentence, so that two of the three rows are padded."])
    with torch.no_grad():
        want = graph(*(inputs[n] for n in names)).numpy()
    session = ort.InferenceSession(str(folder / GRAPH_FILE), providers=["CPUExecutionProvider"])
    got = session.run(None, {n: inputs[n].numpy() for n in names})[0]
    if got.shape != want.shape:
        raise ModelError(f"the ONNX export of {folder.parent} gives {got.shape}, torch {want.shape}")
    mask = inputs["attention_mask"].numpy().astype(bool)
    err = float(np.abs(got - want)[mask].max())
    if err > 1e-3:
        raise ModelError(f"the ONNX export of {folder.parent} differs from torch (max difference {err:.2g})")
    return int(got.shape[-1])
