"""Servers the tests and benchmarks start on 127.0.0.1: a real ``chroma run`` and the Ollama
stand-in, each on a port the kernel picks (port 0, read back from /proc or the server's
first line), and stopped cleanly. No pytest here, so ``bench/`` can use it too."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent


def stop(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Terminate a server the tests started; kill it if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def listening_port(pid: int, timeout: float = 60.0) -> int:
    """The TCP port a process listens on, read from /proc: a server told to bind port 0
    gets a free port from the kernel, and this is how the tests learn which one."""
    def find() -> int:
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as f:
                for row in f.read().splitlines()[1:]:
                    cols = row.split()
                    if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                        return int(cols[1].rsplit(":", 1)[1], 16)
        return 0

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        port = find()
        if port:
            return port
        time.sleep(0.1)
    raise RuntimeError(f"process {pid} listens on no TCP port after {timeout:.0f} s")


def start_chroma(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``chroma run`` on 127.0.0.1, port 0; returns the process and its URL once it listens."""
    chroma = Path(sys.executable).parent / "chroma"
    log = open(data / "server.log", "ab")  # noqa: SIM115 - kept open for the server's life
    proc = subprocess.Popen([str(chroma), "run", "--host", "127.0.0.1", "--port", "0", "--path", str(data)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        port = listening_port(proc.pid)
    except RuntimeError:
        proc.kill()
        raise RuntimeError(f"chroma run did not start; see {data}/server.log") from None
    return proc, f"http://127.0.0.1:{port}"


def start_standin(gguf: Path, embed_dir: Path | None = None, name: str = "qwen2.5-coder:1.5b",
                  embed_name: str = "multilingual-e5-small") -> tuple[subprocess.Popen[str], str]:
    """The Ollama stand-in (``tests.support.ollama_standin``) on 127.0.0.1, port 0, serving
    ``gguf`` as ``name`` and, given ``embed_dir``, that sentence-transformers folder on
    ``/api/embed`` as ``embed_name``; returns the process and its URL once it listens."""
    cmd = [sys.executable, "-m", "tests.support.ollama_standin", "--gguf", str(gguf), "--name", name, "--port", "0"]
    if embed_dir is not None:
        cmd += ["--embed-dir", str(embed_dir), "--embed-name", embed_name]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("LISTENING"):
        proc.kill()
        raise RuntimeError(f"stand-in did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"
