"""Any Hugging Face encoder family must work as a backbone, not only the bundled MiniLM.

Nothing can be downloaded here, so each family is built locally: a tokenizer trained on a
few sentences and a tiny randomly initialised encoder of that architecture.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import AutoConfig, AutoModel, PreTrainedTokenizerFast

from falconer.core import Example, TaskData
from falconer.core.errors import InputError
from falconer.core.spans import Span
from falconer.proxy import Proxy, TrainConfig

SENTENCES = [
    "Alice Smith met Bob Jones in Paris on Monday .",
    "The battery life of this laptop is great , but the screen is dim .",
    "Shares of Acme Corp rose 5 % after the report .",
    "Carol King sang at the festival in Berlin .",
] * 8


def _wordpiece() -> Tokenizer:
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(
        SENTENCES,
        trainers.WordPieceTrainer(
            vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        ),
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def _byte_level() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.train_from_iterator(
        SENTENCES,
        trainers.BpeTrainer(
            vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        ),
    )
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", tokenizer.token_to_id("</s>")),
        ("<s>", tokenizer.token_to_id("<s>")),
        trim_offsets=True,
    )
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


WORDPIECE_SPECIAL = {
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "mask_token": "[MASK]",
}
BYTE_LEVEL_SPECIAL = {
    "cls_token": "<s>",
    "sep_token": "</s>",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "pad_token": "<pad>",
    "unk_token": "<unk>",
    "mask_token": "<mask>",
}
FAMILIES = {
    "bert": (_wordpiece, WORDPIECE_SPECIAL),
    "deberta-v2": (_wordpiece, WORDPIECE_SPECIAL),
    "modernbert": (_wordpiece, WORDPIECE_SPECIAL),
    "mpnet": (_wordpiece, WORDPIECE_SPECIAL),
    "roberta": (_byte_level, BYTE_LEVEL_SPECIAL),
}


def _make_backbone(family: str, folder: Path) -> Path:
    build, special = FAMILIES[family]
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=build(), model_max_length=128, **special)
    tokenizer.save_pretrained(folder)
    config = AutoConfig.for_model(
        family,
        vocab_size=tokenizer.vocab_size + 8,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=160,
        pad_token_id=tokenizer.pad_token_id,
    )
    AutoModel.from_config(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_encoder_family_trains_predicts_and_round_trips(family: str, tmp_path: Path) -> None:
    backbone = _make_backbone(family, tmp_path / family)
    proxy = Proxy.from_pretrained(str(backbone), max_length=64, stride=16)
    text = SENTENCES[0]
    spans = (Span.of(text, 0, 11), Span.of(text, 16, 25))
    tasks = [
        TaskData("Extract people.", "span", [Example(text, spans=spans)] * 8),
        TaskData(
            "Is it about laptops?",
            "label",
            [Example(s, label="laptop" in s) for s in SENTENCES[:8]],
        ),
    ]
    proxy.fit(tasks, config=TrainConfig(min_steps=4, batch_size=4, dev_fraction=0.0))
    long_text = " ".join(SENTENCES)
    predicted = proxy.get_span([text, long_text], "Extract people.")
    for source, result in zip([text, long_text], predicted, strict=True):
        assert all(s.matches(source) for s in result.spans)
    labels = proxy.get_label(SENTENCES[:3], "Is it about laptops?")
    proxy.save_pretrained(tmp_path / "saved")
    again = Proxy.from_pretrained(tmp_path / "saved")
    assert again.get_label(SENTENCES[:3], "Is it about laptops?") == labels


def test_a_backbone_that_cannot_load_is_named_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="backbone folder not found: /no/such/encoder"):
        Proxy.check_source("/no/such/encoder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"cannot load backbone '.*empty'"):
        Proxy.check_source(str(tmp_path / "empty"))
    Proxy.check_source("default")  # the bundled MiniLM: its config alone is read
