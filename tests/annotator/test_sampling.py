from __future__ import annotations

import numpy as np
import pytest

from falconer.annotator.sampling import choose, k_center
from falconer.core.documents import Document
from falconer.core.errors import InputError


def test_k_center_takes_one_point_from_each_cluster() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    points = np.concatenate([c + rng.normal(0, 0.1, size=(50, 2)) for c in centres])
    chosen = k_center(points, 4, seed=1)
    assert sorted({i // 50 for i in chosen}) == [0, 1, 2, 3]


def test_random_sampler_is_reproducible_and_without_repeats() -> None:
    docs = [Document(str(i), f"text {i}") for i in range(100)]
    first = choose(docs, 10, sampler="random", seed=3)
    assert first == choose(docs, 10, sampler="random", seed=3)
    assert len({d.id for d in first}) == 10


def test_diverse_sampler_covers_topics_a_random_sample_can_miss() -> None:
    sport = [
        Document(f"s{i}", f"The striker scored goal number {i} in the match .") for i in range(30)
    ]
    cooking = [Document("c", "Whisk the eggs with sugar and bake the cake for an hour .")]
    law = [Document("l", "The court ruled that the contract was void under state law .")]
    chosen = choose(sport + cooking + law, 3, sampler="diverse", seed=0)
    assert {"c", "l"} <= {d.id for d in chosen}


def test_unknown_sampler_and_empty_sample_are_input_errors() -> None:
    docs = [Document("1", "a")]
    with pytest.raises(InputError):
        choose(docs, 1, sampler="clever")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        choose(docs, 0)
