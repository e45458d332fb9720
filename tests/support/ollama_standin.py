"""A wire-faithful Ollama stand-in for tests: a real HTTP server on 127.0.0.1 that follows
Ollama's published REST API for ``GET /api/version``, ``GET /api/tags``,
``POST /api/show``, ``POST /api/chat`` (streamed NDJSON by default, one JSON object
with ``"stream": false``), ``POST /api/embed``, ``HEAD``/``POST /api/blobs/sha256:…`` and
``POST /api/create`` (``from`` + ``adapters``); it answers with a real GGUF through
llama.cpp and, with ``--embed-dir``, embeds with a real sentence-transformers model. A
model created with an adapter is served by llama.cpp with that LoRA loaded.

Faults for reliability tests are switched on through ``POST /__fault`` (not part of
Ollama's API): ``{"mode": "error_500" | "drop" | "hang", "times": N, "seconds": S}``
makes the next N ``/api/chat`` requests answer 500, drop the connection after a few
streamed pieces, or hang for S seconds before answering.

No Ollama binary can be installed here; this lets the ``ollama`` client path be tested
over real HTTP. It is test infrastructure, not part of Akhbar.

    python -m tests.support.ollama_standin --gguf PATH --name qwen2.5-coder:1.5b --port 0

prints ``LISTENING <port>`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Backend:
    def __init__(self, gguf: Path, name: str, threads: int, adapter: Path | None = None) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from llama_cpp import Llama

        self.name = name
        self.path = gguf
        self.adapter = adapter
        self.threads = threads
        self.llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                         n_batch=256, verbose=False, lora_path=str(adapter) if adapter else None)
        self.lock = threading.Lock()
        st = gguf.stat()
        self.size = st.st_size
        self.modified = datetime.fromtimestamp(st.st_mtime, UTC).isoformat().replace("+00:00", "Z")
        self.digest = hashlib.sha256(f"{gguf}:{st.st_size}".encode()).hexdigest()
        meta = self.llm.metadata
        self.template = meta.get("tokenizer.chat_template", "")
        self.details = {
            "parent_model": "",
            "format": "gguf",
            "family": meta.get("general.architecture", "qwen2"),
            "families": [meta.get("general.architecture", "qwen2")],
            "parameter_size": meta.get("general.size_label", ""),
            "quantization_level": "Q4_K_M",
        }

    def knows(self, model: str) -> bool:
        # Ollama reads a name without a tag as NAME:latest.
        def tagged(name: str) -> str:
            return name if ":" in name else f"{name}:latest"

        return bool(model) and tagged(model) == tagged(self.name)


class Embeddings:
    def __init__(self, folder: Path, name: str) -> None:
        from sentence_transformers import SentenceTransformer

        from rag.embedder import cpu_has_native_bf16

        self.name = name
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        # As fast as Akhbar's own embedder (bfloat16 where the CPU has it), so a bench through
        # /api/embed measures the HTTP path rather than float32 against bfloat16.
        if cpu_has_native_bf16():
            import torch

            self.model.to(torch.bfloat16)
        self.lock = threading.Lock()

    def embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        with self.lock:
            out = self.model.encode(texts, convert_to_tensor=True).float().numpy()
        out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return [list(map(float, v)) for v in out]


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = ""
        self.times = 0
        self.seconds = 0.0

    def take(self) -> tuple[str, float]:
        with self.lock:
            if self.times <= 0:
                return "", 0.0
            self.times -= 1
            return self.mode, self.seconds


class Handler(BaseHTTPRequestHandler):
    backend: Backend
    created: dict[str, Backend] = {}  # noqa: RUF012 - models made by /api/create, shared by all requests
    blobs: Path
    embeddings: Embeddings | None = None
    faults = Faults()
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            data = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return {"__invalid__": True}
        return data if isinstance(data, dict) else {"__invalid__": True}

    def find(self, model: str) -> Backend | None:
        for b in (self.backend, *self.created.values()):
            if b.knows(model):
                return b
        return None

    def _raw(self) -> bytes:
        """The request body, sent with a Content-Length or chunked (httpx streams a file chunked)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_HEAD(self) -> None:
        status = 200
        if self.path.startswith("/api/blobs/"):
            status = 200 if (self.blobs / self.path.rsplit("/", 1)[1].replace(":", "-")).is_file() else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _blob(self) -> None:
        digest = self.path.rsplit("/", 1)[1]
        data = self._raw()
        if not digest.startswith("sha256:") or hashlib.sha256(data).hexdigest() != digest[7:]:
            self._json(400, {"error": "digest mismatch"})
            return
        (self.blobs / digest.replace(":", "-")).write_bytes(data)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _create(self, body: dict[str, Any]) -> None:
        name = body.get("model") or ""
        base = self.find(body.get("from") or "")
        if not name:
            self._json(400, {"error": "model name is required"})
            return
        if base is None:
            self._json(404, {"error": f"model '{body.get('from')}' not found"})
            return
        adapters = body.get("adapters") or {}
        if len(adapters) > 1:
            self._json(400, {"error": "only one adapter is supported"})
            return
        paths = [self.blobs / str(d).replace(":", "-") for d in adapters.values()]
        missing = [str(d) for d, p in zip(adapters.values(), paths) if not p.is_file()]
        if missing:
            self._json(400, {"error": f"invalid digest {missing[0]}: blob not found"})
            return
        try:
            made = Backend(base.path, name if ":" in name else f"{name}:latest", base.threads,
                           paths[0] if paths else None)
        except Exception as e:  # llama.cpp refuses an adapter that does not fit the base
            self._json(400, {"error": f"failed to load adapter: {e}"})
            return
        self.created[made.name] = made
        steps = ["parsing GGUF", "using existing layer", "writing manifest", "success"]
        if body.get("stream", True) is False:
            self._json(200, {"status": "success"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for step in steps:
            self._chunk({"status": step})
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        b = self.backend
        if self.path == "/":
            data = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif self.path == "/api/version":
            self._json(200, {"version": "0.12.6"})
        elif self.path == "/api/tags":
            models = [{"name": m.name, "model": m.name, "modified_at": m.modified, "size": m.size,
                       "digest": m.digest, "details": m.details} for m in (b, *self.created.values())]
            if self.embeddings:
                models.append({"name": self.embeddings.name, "model": self.embeddings.name,
                               "modified_at": b.modified, "size": 0, "digest": "0" * 64,
                               "details": {**b.details, "family": "bert", "families": ["bert"]}})
            self._json(200, {"models": models})
        else:
            self._json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:
        if self.path.startswith("/api/blobs/"):
            self._blob()
            return
        body = self._body()
        if body.get("__invalid__"):
            self._json(400, {"error": "invalid request body"})
            return
        if self.path == "/api/show":
            self._show(body)
        elif self.path == "/api/chat":
            mode, seconds = self.faults.take()
            if mode == "error_500":
                self._json(500, {"error": "llama runner process has terminated: signal: killed"})
                return
            if mode == "hang":
                time.sleep(seconds)
            self._chat(body, drop_after=3 if mode == "drop" else 0)
        elif self.path == "/api/embed":
            self._embed(body)
        elif self.path == "/api/create":
            self._create(body)
        elif self.path == "/__fault":
            with self.faults.lock:
                self.faults.mode = str(body.get("mode", ""))
                self.faults.times = int(body.get("times", 1))
                self.faults.seconds = float(body.get("seconds", 0))
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": "404 page not found"})

    def _show(self, body: dict[str, Any]) -> None:
        model = body.get("model") or body.get("name") or ""
        b = self.find(model)
        if b is None:
            self._json(404, {"error": f"model '{model}' not found"})
            return
        self._json(200, {
            "modelfile": f"FROM {b.path}\nTEMPLATE {json.dumps(b.template)}\n"
                         + (f"ADAPTER {b.adapter}\n" if b.adapter else ""),
            "parameters": 'stop "<|im_start|>"\nstop "<|im_end|>"',
            "template": b.template,
            "details": b.details,
            "model_info": {"general.architecture": b.details["family"], "general.file_type": 15},
            "capabilities": ["completion"],
            "modified_at": b.modified,
        })

    def _embed(self, body: dict[str, Any]) -> None:
        e = self.embeddings
        model = body.get("model", "")
        if e is None or model not in (e.name, f"{e.name}:latest"):
            self._json(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        raw = body.get("input", "")
        texts = [raw] if isinstance(raw, str) else list(raw)
        if not all(isinstance(t, str) for t in texts):
            self._json(400, {"error": "input must be a string or a list of strings"})
            return
        start = time.monotonic_ns()
        vectors = e.embed(texts)
        self._json(200, {"model": model, "embeddings": vectors, "total_duration": time.monotonic_ns() - start,
                         "load_duration": 0, "prompt_eval_count": sum(len(t.split()) for t in texts)})

    def _chat(self, body: dict[str, Any], drop_after: int = 0) -> None:
        model = body.get("model", "")
        b = self.find(model)
        if b is None:
            self._json(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        messages = body.get("messages")
        if not isinstance(messages, list):
            self._json(400, {"error": "messages must be a list"})
            return
        opts = body.get("options") or {}
        stream = body.get("stream", True)
        kwargs: dict[str, Any] = {
            "messages": [{"role": m.get("role", "user"), "content": m.get("content", "")} for m in messages],
            "temperature": float(opts.get("temperature", 0.8)),
            "repeat_penalty": float(opts.get("repeat_penalty", 1.1)),
            "max_tokens": int(opts.get("num_predict", 128)) if int(opts.get("num_predict", 128)) > 0 else None,
            "stop": opts.get("stop"),
            "seed": opts.get("seed"),
        }
        start = time.monotonic_ns()
        with b.lock:
            prompt_tokens = len(b.llm.tokenize(
                "".join(m["content"] for m in kwargs["messages"]).encode(), add_bos=False)) + 5 * len(messages)
            if not stream:
                out = b.llm.create_chat_completion(**kwargs)
                usage = out.get("usage", {})
                self._json(200, {
                    "model": model, "created_at": _now(),
                    "message": {"role": "assistant", "content": out["choices"][0]["message"]["content"] or ""},
                    "done": True, "done_reason": out["choices"][0].get("finish_reason") or "stop",
                    "total_duration": time.monotonic_ns() - start, "load_duration": 0,
                    "prompt_eval_count": usage.get("prompt_tokens", prompt_tokens), "prompt_eval_duration": 0,
                    "eval_count": usage.get("completion_tokens", 0), "eval_duration": 0,
                })
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            count = 0
            reason = "stop"
            for part in b.llm.create_chat_completion(stream=True, **kwargs):
                choice = part["choices"][0]
                piece = choice.get("delta", {}).get("content")
                if choice.get("finish_reason"):
                    reason = choice["finish_reason"]
                if piece:
                    count += 1
                    self._chunk({"model": model, "created_at": _now(),
                                 "message": {"role": "assistant", "content": piece}, "done": False})
                    if drop_after and count >= drop_after:
                        # The runner died mid-answer: the connection ends without the final chunk.
                        self.close_connection = True
                        with contextlib.suppress(OSError):
                            self.connection.shutdown(2)
                        return
            self._chunk({
                "model": model, "created_at": _now(), "message": {"role": "assistant", "content": ""},
                "done": True, "done_reason": reason, "total_duration": time.monotonic_ns() - start,
                "load_duration": 0, "prompt_eval_count": prompt_tokens, "prompt_eval_duration": 0,
                "eval_count": count, "eval_duration": 0,
            })
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _chunk(self, obj: dict[str, Any]) -> None:
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True, type=Path)
    ap.add_argument("--name", default="qwen2.5-coder:1.5b")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument("--embed-dir", type=Path, help="a sentence-transformers folder served by /api/embed")
    ap.add_argument("--embed-name", default="bge-m3")
    args = ap.parse_args()
    Handler.backend = Backend(args.gguf, args.name, args.threads)
    Handler.blobs = Path(tempfile.mkdtemp(prefix="ollama-standin-blobs-"))
    if args.embed_dir:
        Handler.embeddings = Embeddings(args.embed_dir, args.embed_name)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
