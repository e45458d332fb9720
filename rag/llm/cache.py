"""The llama.cpp adapter's files under ``<home>/cache/llm-state``, each saved by one process
for the next: the KV state after a prompt's system message, and the copy constraint's
vocabulary.

A file is named by a digest of everything its content depends on, so a changed model,
adapter, llama.cpp build or prompt names another file instead of reusing a stale one. A
file that is missing, broken or cannot be written only costs the time it would have saved:
nothing here raises for it. When to use the files is ``rag.llm.llamacpp``'s decision;
llama.cpp itself is imported only by the functions that call it.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import marshal
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.llm.constrain import vocabulary

Vocabulary = tuple[dict[bytes, list[int]], list[bytes]]  # the constraint's index, every token's bytes

# Prefix states kept (one per model, adapter, language and prompt wording): the most
# recently used stay, so edited prompts and swapped models do not pile up.
KEEP_STATES = 8


def write_atomic(path: Path, write: Callable[[Path], bool]) -> None:
    """``write(tmp)`` then a rename onto ``path``, so a reader never sees half a file. A
    cache that cannot be written (a read-only home) only costs the next process the time
    it would have saved."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if write(tmp):
            os.replace(tmp, path)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def cache_file(directory: Path, stem: str, ext: str, depends: Sequence[str | Path | None]) -> Path:
    """``<directory>/<stem>-<digest>.<ext>``, the digest naming everything the file depends
    on (a file by its path, size and mtime; anything else as text)."""
    parts = []
    for d in depends:
        if isinstance(d, Path):
            with contextlib.suppress(OSError):  # a file that is not there names nothing
                st = d.stat()
                parts.append(f"{d.resolve()} {st.st_size} {st.st_mtime_ns}")
        elif d is not None:
            parts.append(d)
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]
    return directory / f"{stem}-{digest}.{ext}"


def copy_vocabulary(llm: Any, directory: Path | None, model: Path) -> Vocabulary:
    """Every token's bytes of the loaded ``llm`` and the copy constraint's index of them:
    slow to build in Python, so read from ``directory`` when an earlier process saved them
    there, else built and saved (``directory`` None: built only)."""
    import llama_cpp

    path = None
    if directory is not None:
        # marshal's format is Python's own: its version is part of the name.
        path = cache_file(directory, "vocab", "marshal", [sys.version, llama_cpp.__version__, model])
    if path is not None and path.exists():
        try:
            index, pieces = marshal.loads(path.read_bytes())
            if isinstance(index, dict) and isinstance(pieces, list) and len(pieces) == llm.n_vocab():
                return index, pieces
        except (OSError, ValueError, EOFError, TypeError):
            pass  # unreadable: rebuilt and written again below
    pieces = [llm.detokenize([i]) for i in range(llm.n_vocab())]
    built = (vocabulary(enumerate(pieces)), pieces)
    if path is not None:
        data = marshal.dumps(built)
        write_atomic(path, lambda tmp: tmp.write_bytes(data) > 0)
    return built


def prefix_state_file(directory: Path, prefix: Sequence[int], *, n_ctx: int, adapter_on: bool, model: Path,
                      adapter: Path | None) -> Path:
    """Where the KV state after ``prefix`` is kept: it depends on the model and adapter
    files, whether the adapter applies, the context size, llama.cpp's version and CPU
    build (another instruction set computes slightly other numbers), and the tokens."""
    import llama_cpp

    cpu_lib = Path(llama_cpp.__file__).parent / "lib" / "libggml-cpu.so"
    return cache_file(directory, "prefix", "llama-state", [llama_cpp.__version__, str(n_ctx), str(adapter_on), model,
                                                           adapter, cpu_lib, str(list(prefix))])


def restore_prefix(llm: Any, prefix: list[int], path: Path | None) -> None:
    """Start the empty context of ``llm`` with ``prefix`` read: from the state saved at
    ``path`` by an earlier process, or by reading the tokens and saving the state there
    for the next one (``path`` None: read only). A missing or broken file just means the
    tokens are read."""
    import llama_cpp

    cut = len(prefix)
    if path is None:
        llm.eval(prefix)
        return
    memory = llama_cpp.llama_get_memory(llm._ctx.ctx)
    if path.exists():
        llama_cpp.llama_memory_clear(memory, True)  # cells of an earlier prompt must not linger
        out = (llama_cpp.llama_token * cut)()
        n = ctypes.c_size_t(0)
        ok = llama_cpp.llama_state_load_file(llm._ctx.ctx, str(path).encode(), out, cut, ctypes.byref(n))
        if ok and n.value == cut and list(out) == prefix:
            llm.input_ids[:cut] = prefix
            llm.n_tokens = cut
            with contextlib.suppress(OSError):
                os.utime(path)  # in use: the pruning below keeps the recently used
            return
        llm.reset()  # a stale or broken file: read the prompt whole, and write it anew
        llama_cpp.llama_memory_clear(memory, True)
    llm.eval(prefix)
    arr = (llama_cpp.llama_token * cut)(*prefix)
    write_atomic(path, lambda tmp: bool(llama_cpp.llama_state_save_file(llm._ctx.ctx, str(tmp).encode(), arr, cut)))
    with contextlib.suppress(OSError):
        states = sorted(path.parent.glob("prefix-*.llama-state"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in states[KEEP_STATES:]:
            old.unlink(missing_ok=True)
