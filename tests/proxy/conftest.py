from __future__ import annotations

from typing import Any

import pytest
from transformers import AutoTokenizer

from falconer.proxy.backbones import resolve_backbone


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return AutoTokenizer.from_pretrained(resolve_backbone("default"), use_fast=True)
