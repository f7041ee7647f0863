"""A small but real proxy for engine tests: a 2-layer BERT (the default backbone's tokenizer)
trained briefly on real sentiment and person-name data. The engine's guarantees (short
circuits, exactly-once output, rejects) do not depend on how good its answers are, and a
small encoder lets the tests stream tens of thousands of documents in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel

from falconer.bench.tasks import load_task
from falconer.plan.schema import Plan
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.backbones import resolve_backbone

SENTIMENT = "Is this movie review positive?"
PEOPLE = "Extract the names of people."
PLAN = Plan.parse(
    {
        "steps": [
            {"id": "positive", "op": "get_label", "instruction": SENTIMENT},
            {"id": "people", "op": "get_span", "instruction": PEOPLE},
        ],
        "filter": "positive",
        "fields": {"people": "people"},
    }
)


def tiny_backbone(folder: Path) -> Path:
    tokenizer = AutoTokenizer.from_pretrained(resolve_backbone("default"), use_fast=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    with torch.random.fork_rng():  # the same encoder whatever tests ran before it
        torch.manual_seed(0)
        model = BertModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_backbone_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh 2-layer encoder (no heads), for runs that train their own proxy."""
    return tiny_backbone(tmp_path_factory.mktemp("tiny") / "backbone")


@pytest.fixture(scope="session")
def small_proxy_dir(tmp_path_factory: pytest.TempPathFactory, bench_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("small-proxy")
    proxy = Proxy.from_pretrained(tiny_backbone(root / "backbone"), threads=2)
    sentiment, _ = load_task(bench_dir / "tasks" / "sst2-positive").sample(64, seed=0)
    people, _ = load_task(bench_dir / "tasks" / "conll-persons").sample(64, seed=0)
    proxy.fit(
        [
            load_task(bench_dir / "tasks" / "sst2-positive").task_data(sentiment),
            load_task(bench_dir / "tasks" / "conll-persons").task_data(people),
        ],
        config=TrainConfig(min_steps=30, learning_rate=1e-3, threads=2, dev_fraction=0.0),
    )
    return proxy.save_pretrained(root / "proxy")


@pytest.fixture(scope="session")
def small_proxy(small_proxy_dir: Path) -> Proxy:
    return Proxy.from_pretrained(small_proxy_dir, threads=2)


@pytest.fixture(scope="session")
def plan() -> Plan:
    """Keep positive reviews; output the people named in them."""
    return PLAN


@pytest.fixture(scope="session")
def instructions() -> tuple[str, str]:
    return SENTIMENT, PEOPLE
