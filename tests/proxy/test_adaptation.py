"""Task-adaptive pre-training: long texts are read whole, and the adapted encoder is a backbone
the proxy loads, changed by the corpus and without the masked-word head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    DataCollatorForLanguageModeling,
    DistilBertConfig,
    DistilBertForMaskedLM,
)

from falconer.core.errors import InputError
from falconer.engine.corpus import bundled_corpus
from falconer.proxy.adaptation import AdaptConfig, adapt_backbone, masked_word_loss, token_pieces
from falconer.proxy.backbones import resolve_backbone
from falconer.proxy.proxy import Proxy


def test_long_text_is_cut_into_pieces_that_keep_every_token(tokenizer: Any) -> None:
    text = " ".join(f"word{i}" for i in range(400))
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    pieces = token_pieces([text, "short one", ""], tokenizer, max_tokens=64)
    assert all(len(piece) <= 64 for piece in pieces)
    assert all(p[0] == tokenizer.cls_token_id and p[-1] == tokenizer.sep_token_id for p in pieces)
    inner = [token for piece in pieces[:-1] for token in piece[1:-1]]
    assert inner == ids  # nothing of the long text dropped, in order
    assert tokenizer.decode(pieces[-1][1:-1]) == "short one"  # the empty text adds no piece


def test_no_texts_a_missing_backbone_and_a_used_folder_are_clear_errors(
    tmp_path: Path,
) -> None:
    with pytest.raises(InputError, match="no non-empty texts"):
        adapt_backbone(["", ""], tmp_path / "out", config=AdaptConfig(epochs=1, head_steps=0))
    with pytest.raises(InputError, match="cannot load backbone"):
        adapt_backbone(["text"], tmp_path / "out", backbone=str(tmp_path / "missing"))
    with pytest.raises(InputError, match="epochs"):
        AdaptConfig(epochs=0)
    with pytest.raises(InputError, match="learning rates > 0"):
        AdaptConfig(learning_rate=0.0)
    assert not (tmp_path / "out").exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        adapt_backbone(["text"], tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_adapted_encoder_learns_the_corpus_and_loads_as_a_proxy_backbone(tmp_path: Path) -> None:
    texts = [doc.text for doc in bundled_corpus()[:48]]
    out = tmp_path / "adapted"
    config = AdaptConfig(epochs=6, learning_rate=2e-4, head_steps=12, batch_size=16)
    report = adapt_backbone(texts, out, config=config, threads=2)
    assert report.texts == 48 and report.pieces >= 48 and report.steps == 12 + 6 * 3
    assert report.head_loss is not None and report.final_loss is not None
    assert report.final_loss < report.head_loss  # the encoder's own steps lower the loss further
    weights = load_file(out / "model.safetensors")
    assert not any(key.startswith(("cls.", "lm_head")) for key in weights)
    assert not (tmp_path / "adapted.partial").exists()
    before = AutoModel.from_pretrained(resolve_backbone("default")).state_dict()
    after = AutoModel.from_pretrained(out).state_dict()
    name = "encoder.layer.5.output.dense.weight"
    assert not torch.equal(before[name], after[name])
    proxy = Proxy.from_pretrained(out, threads=2)
    assert len(proxy.get_label(texts[:2], "Is this about sport?")) == 2


def test_loss_on_masked_positions_only_equals_the_full_masked_word_loss(tokenizer: Any) -> None:
    torch.manual_seed(0)
    model = AutoModelForMaskedLM.from_pretrained(resolve_backbone("default")).eval()
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    texts = [doc.text for doc in bundled_corpus()[:8]]
    batch = collator([{"input_ids": ids} for ids in token_pieces(texts, tokenizer, 128)])
    with torch.no_grad():
        assert torch.allclose(masked_word_loss(model, batch), model(**batch).loss, atol=1e-5)


def _tiny_distilbert() -> Any:
    """A masked-word model whose head is several modules, so the library computes its loss."""
    config = DistilBertConfig(dim=32, hidden_dim=64, n_layers=1, n_heads=2)
    return DistilBertForMaskedLM(config)


@pytest.mark.parametrize("head", ["one module", "several modules"])
def test_a_batch_with_nothing_masked_gives_zero_loss_not_nan(tokenizer: Any, head: str) -> None:
    if head == "one module":
        model = AutoModelForMaskedLM.from_pretrained(resolve_backbone("default"))
    else:
        model = _tiny_distilbert()
    ids = torch.tensor([token_pieces(["a short one"], tokenizer, 128)[0]])
    batch = {"input_ids": ids, "labels": torch.full_like(ids, -100)}
    loss = masked_word_loss(model, batch)
    loss.backward()  # type: ignore[no-untyped-call]
    assert loss.item() == 0.0
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
