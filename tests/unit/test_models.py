"""The packaged models, without loading one: a GGUF assembled from its parts is verified."""

import sys
import types
from pathlib import Path

import pytest

from rag import ModelError
from rag.models import GGUFSpec, assemble_gguf
from rag.models_e5 import sha256_file


def test_assembly_refuses_a_wrong_checksum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in (1, 2):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(f"part {i} ".encode() * 1000)
        mod = types.ModuleType(f"akhbar_fake_part{i}")
        mod.get_part_path = lambda p=part: str(p)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"akhbar_fake_part{i}", mod)
    good = sha256_file(tmp_path / "part1.bin")  # not the hash of the concatenation
    dest = tmp_path / "out.gguf"
    with pytest.raises(ModelError, match="refusing"):
        assemble_gguf(GGUFSpec("fake", "akhbar_fake_part", 2, good, "fake"), dest)
    assert not dest.exists() and not (tmp_path / "out.gguf.partial").exists()
    import hashlib

    right = hashlib.sha256((tmp_path / "part1.bin").read_bytes() + (tmp_path / "part2.bin").read_bytes()).hexdigest()
    assert assemble_gguf(GGUFSpec("fake", "akhbar_fake_part", 2, right, "fake"), dest) == dest
    assert dest.stat().st_size == 2 * len(b"part 1 ") * 1000


def test_missing_part_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not installed"):
        assemble_gguf(GGUFSpec("x", "akhbar_no_such_part", 1, "0" * 64, "x"), tmp_path / "x.gguf")
