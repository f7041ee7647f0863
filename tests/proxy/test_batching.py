from __future__ import annotations

from typing import Any

from falconer.proxy.batching import PADDING_SLACK, length_sorted_batches
from falconer.proxy.encoding import encode


def _windows(tokenizer: Any, texts: list[str]) -> Any:
    return encode(tokenizer, ["Extract the names."] * len(texts), texts, 256, 32).windows


def test_batches_cover_every_window_once_in_length_order(tokenizer: Any) -> None:
    texts = [" ".join(["word"] * n) for n in (5, 40, 3, 3, 17, 5, 90, 4)]
    windows = _windows(tokenizer, texts)
    batches = length_sorted_batches(windows, batch_size=3)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(windows)))
    lengths = [len(windows[i].input_ids) for i in flat]
    assert lengths == sorted(lengths)
    assert all(len(batch) <= 3 for batch in batches)


def test_a_long_window_is_not_padded_into_a_batch_of_short_ones(tokenizer: Any) -> None:
    texts = ["A short review."] * 30 + [" ".join(["long"] * 150)]
    windows = _windows(tokenizer, texts)
    batches = length_sorted_batches(windows, batch_size=64)
    assert batches[-1] == [30]  # alone, not with 30 short windows padded to its length
    for batch in batches:
        lengths = [len(windows[i].input_ids) for i in batch]
        assert max(lengths) * len(lengths) <= (1 + PADDING_SLACK) * sum(lengths)


def test_windows_of_one_length_fill_whole_batches(tokenizer: Any) -> None:
    windows = _windows(tokenizer, ["The same short text."] * 10)
    assert [len(b) for b in length_sorted_batches(windows, batch_size=4)] == [4, 4, 2]
