"""``python -m rag.cli``: the ``akhbar`` command without the installed console script."""

import sys

from rag.cli import main

sys.exit(main())
