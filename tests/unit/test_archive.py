"""A newsroom archive, without a store: an unreadable file is reported (the archive against
the real store is in tests/integration/test_archive.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    """As root every file is readable, so the reader drops to 'nobody' after importing."""
    f = tmp_path / "secret.txt"
    f.write_text("Title\nBody text that nobody may read.\n")
    f.chmod(0o600)
    code = (
        "import os, sys; from pathlib import Path\n"
        "from ingest.formats import read_file, Limits, Problem\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "items = list(read_file(Path(sys.argv[1]), Limits()))\n"
        "print(items[0].reason if isinstance(items[0], Problem) else 'READ')\n"
    )
    if os.geteuid() != 0:
        f.chmod(0o000)
        code = code.replace("os.setgid(65534); os.setuid(65534)\n", "")
    r = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.stdout.strip() == "cannot read: Permission denied", r.stderr
