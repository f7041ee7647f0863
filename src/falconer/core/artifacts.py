"""Model files that Falconer rebuilds once from pieces and keeps in the user cache dir.

Package registries cap the size of one package, so the embedded LLM and the larger proxy
backbone arrive as numbered parts. The parts are third-party repackagings: whatever is built
from them is used only when its sha256 matches the upstream file's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import platformdirs

BLOCK = 1 << 20


def cache_dir() -> Path:
    """Falconer's user cache dir (models, responses); FALCONER_CACHE_DIR overrides it."""
    return Path(os.environ.get("FALCONER_CACHE_DIR") or platformdirs.user_cache_dir("falconer"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def join_parts(parts: Iterable[Path], target: Path) -> str:
    """Concatenate `parts` into `target` and return the sha256 of what was written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                for block in iter(lambda: handle.read(BLOCK), b""):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()
