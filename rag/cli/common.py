"""What every ``akhbar`` command shares: the config the global and per-command options
select, and one-line messages on stderr. Nothing here parses arguments or runs a command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rag.config import Config


def load_config(args: argparse.Namespace) -> Config:
    """The config file and environment, then the options that override them (--home, --collection, …)."""
    cfg = Config.load(args.config)
    overrides: dict[str, Any] = {}
    if args.home:
        overrides["home"] = Path(args.home)
    if getattr(args, "collection", None):
        overrides["store"] = {"collection": args.collection}
    if getattr(args, "backend", None):
        overrides["llm"] = {"backend": args.backend}
    if getattr(args, "top_k", None):
        overrides["retrieval"] = {"top_k": args.top_k}
    return cfg.with_overrides(**overrides) if overrides else cfg


def err(msg: str) -> None:
    """A progress line or an error, on stderr (stdout is the command's output)."""
    print(msg, file=sys.stderr, flush=True)
