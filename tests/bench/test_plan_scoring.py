from __future__ import annotations

import json
from pathlib import Path

import pytest

from falconer.annotator.sampling import embed
from falconer.bench.plan_scoring import polarity, score_plan
from falconer.plan import Plan


@pytest.fixture(scope="module")
def references(bench_dir: Path) -> list[list[Plan]]:
    rows = [json.loads(line) for line in (bench_dir / "planning" / "dev.jsonl").open()]
    return [[Plan.parse(p) for p in row["plans"]] for row in rows]


@pytest.mark.parametrize(
    ("instruction", "negative"),
    [
        ("Is this review positive?", False),
        ("Is this review negative?", True),
        ("Does the reviewer not complain?", False),
        ("Is the issue unresolved?", True),
        ("Is it a non-fiction book?", True),
        ("Does the customer hate the product?", True),
        ("Isn't it good?", True),
    ],
)
def test_polarity_counts_negating_words(instruction: str, negative: bool) -> None:
    assert polarity(instruction) is negative


def test_every_reference_plan_is_correct_against_itself(references: list[list[Plan]]) -> None:
    for plans in references:
        for plan in plans:
            score = score_plan(plan, plans, embed)
            assert score.correct and score.f1 == 1.0


def test_a_negated_filter_or_a_missing_field_is_wrong() -> None:
    reference = Plan.parse(
        {
            "steps": [
                {"id": "s1", "op": "get_label", "instruction": "Is this review positive?"},
                {"id": "s2", "op": "get_span", "instruction": "Extract the laptop prices."},
            ],
            "filter": "s1",
            "fields": {"price": "s2"},
        }
    )
    data = reference.to_neutral()
    negated = Plan.parse({**data, "filter": "not s1"})
    unfiltered = Plan.parse({**data, "filter": None})
    renamed = Plan.parse(
        {
            **data,
            "steps": [{**s, "id": s["id"].replace("s", "x")} for s in data["steps"]],
            "filter": "x1",
            "fields": {"cost": "x2"},
        }
    )
    assert not score_plan(negated, [reference], embed).correct
    assert not score_plan(unfiltered, [reference], embed).correct
    assert score_plan(renamed, [reference], embed).correct
