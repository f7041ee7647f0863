from __future__ import annotations

import contextlib
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falconer.plan import Plan, PlanSyntaxError, PlanValidationError, evaluate, parse_expression
from falconer.plan.expressions import affirmed, to_source

PLAN = {
    "steps": [
        {"id": "s1", "op": "get_label", "instruction": "Is this a review of a laptop?"},
        {"id": "s2", "op": "get_label", "instruction": "Is this review positive?"},
        {"id": "s3", "op": "get_span", "instruction": "Extract the laptop prices."},
    ],
    "filter": "s1 and not (s2 or s1)",
    "fields": {"price": "s3", "positive": "s2"},
}


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    expression = parse_expression("a or b and not c")
    assert evaluate(expression, {"a": False, "b": True, "c": False})
    assert not evaluate(expression, {"a": False, "b": True, "c": True})
    assert to_source(parse_expression("(a or b) and c")) == "(a or b) and c"


def test_a_step_is_affirmed_where_its_yes_can_let_a_document_through() -> None:
    assert affirmed(parse_expression("a and not (b or not c)")) == {"a", "c"}
    assert affirmed(parse_expression("not not a or not b")) == {"a"}
    assert affirmed(parse_expression("a or not a")) == {"a"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty"),
        ("s1 and", "ends too early"),
        ("s1 s2", "unexpected 's2'"),
        ("(s1 or s2", "ends too early"),
        ("s1 ; drop", "unexpected character ';'"),
        ("and s1", "expected a step id"),
        ("__import__('os')", "unexpected character"),
    ],
)
def test_bad_filters_are_syntax_errors_that_say_where(source: str, message: str) -> None:
    with pytest.raises(PlanSyntaxError, match=message):
        parse_expression(source)


def test_plan_round_trips_through_json_and_yaml() -> None:
    plan = Plan.parse(PLAN)
    assert Plan.from_json(plan.to_json()) == plan
    assert Plan.from_yaml(plan.to_yaml()) == plan
    assert plan.to_neutral() == json.loads(json.dumps(PLAN))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": []}, "steps"),
        ({"filter": "s3"}, "span step 's3'"),
        ({"filter": "s9 or s1"}, "unknown step 's9'"),
        ({"fields": {"price": "s7"}}, "field 'price' refers to unknown step 's7'"),
        ({"fields": {}, "filter": None}, "outputs nothing"),
        ({"steps": [*PLAN["steps"], PLAN["steps"][0]]}, "duplicate step ids: s1"),
        ({"steps": [{"id": "s1", "op": "get_rows", "instruction": "x"}]}, "op"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_plans_say_what_is_wrong_and_where(change: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanValidationError, match=message):
        Plan.parse({**PLAN, **change})


def test_a_span_step_carries_a_span_type_that_round_trips_and_only_it_may() -> None:
    typed = {
        "id": "s3",
        "op": "get_span",
        "instruction": "Extract the names of people.",
        "span_type": "person",
    }
    plan = Plan.parse({**PLAN, "steps": [*PLAN["steps"][:2], typed]})
    assert plan.span_types == {"Extract the names of people.": "person"}
    assert Plan.from_yaml(plan.to_yaml()) == plan and Plan.from_json(plan.to_json()) == plan
    assert plan.to_neutral()["steps"][2]["span_type"] == "person"
    assert "span_type" not in plan.to_neutral()["steps"][0]
    for wrong, message in [
        ({**typed, "span_type": "city"}, "span_type"),
        ({**PLAN["steps"][0], "span_type": "person"}, "get_span steps only"),
    ]:
        with pytest.raises(PlanValidationError, match=message):
            Plan.parse({**PLAN, "steps": [wrong, *PLAN["steps"][1:]]})


def test_one_instruction_cannot_be_both_a_yes_no_question_and_a_span_request() -> None:
    steps = [
        {"id": "a", "op": "get_label", "instruction": "The prices."},
        {"id": "b", "op": "get_span", "instruction": "The prices."},
    ]
    with pytest.raises(PlanValidationError, match="both get_label and get_span"):
        Plan.parse({"steps": steps, "filter": "a", "fields": {"price": "b"}})


def test_steps_that_ask_the_same_question_cannot_require_different_span_types() -> None:
    ask = {"op": "get_span", "instruction": "Extract the names."}
    steps = [{"id": "a", **ask, "span_type": "person"}, {"id": "b", **ask}]
    with pytest.raises(PlanValidationError, match="require different span types"):
        Plan.parse({"steps": steps, "fields": {"x": "a", "y": "b"}})
    assert Plan.parse({"steps": steps[:1], "fields": {"x": "a"}}).with_span_type(
        "location"
    ).span_types == {"Extract the names.": "person"}


def test_reference_plans_of_the_planning_benchmark_all_validate(bench_dir: Path) -> None:
    rows = [json.loads(line) for line in (bench_dir / "planning" / "dev.jsonl").open()]
    plans = [Plan.parse(plan) for row in rows for plan in row["plans"]]
    assert len(plans) >= len(rows)


identifiers = st.sampled_from(["s1", "s2", "s3", "s9", "and", "or", "not", "(", ")", "AND", "x-y"])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=80), st.lists(identifiers, max_size=30).map(" ".join)))
def test_any_filter_text_parses_or_raises_only_a_syntax_error(source: str) -> None:
    try:
        expression = parse_expression(source)
    except PlanSyntaxError:
        return
    assert parse_expression(to_source(expression)) == expression


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(string.printable, max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
plan_like = st.fixed_dictionaries(
    {},
    optional={
        "steps": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": st.sampled_from(["s1", "s2", "", "1x", "s 1"]) | json_values,
                    "op": st.sampled_from(["get_label", "get_span", "x"]) | json_values,
                    "instruction": st.text(max_size=20) | json_values,
                },
            ),
            max_size=4,
        )
        | json_values,
        "filter": st.lists(identifiers, max_size=12).map(" ".join) | json_values,
        "fields": st.dictionaries(
            st.text(max_size=5), st.sampled_from(["s1", "s2", "s5"]), max_size=3
        )
        | json_values,
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(plan_like, json_values))
def test_any_data_validates_or_raises_only_a_plan_validation_error(data: Any) -> None:
    try:
        plan = Plan.parse(data)
    except PlanValidationError:
        return
    assert Plan.from_json(plan.to_json()) == plan


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_any_json_or_yaml_text_raises_only_a_plan_validation_error(text: str) -> None:
    for load in (Plan.from_json, Plan.from_yaml):
        with contextlib.suppress(PlanValidationError):
            load(text)


def test_a_label_step_used_nowhere_becomes_the_filter() -> None:
    from falconer.planner.planner import use_dangling_labels_as_filter

    forgot = Plan.parse({**PLAN, "filter": None, "fields": {"price": "s3"}})
    assert use_dangling_labels_as_filter(forgot).filter == "s1 and s2"
    kept = Plan.parse({**PLAN, "filter": None})
    assert use_dangling_labels_as_filter(kept).filter == "s1"
    assert use_dangling_labels_as_filter(Plan.parse(PLAN)) == Plan.parse(PLAN)


def test_a_label_field_fixed_by_the_filter_is_dropped() -> None:
    from falconer.planner.planner import drop_constant_fields

    plan = Plan.parse({**PLAN, "filter": "s1 and s2", "fields": {"price": "s3", "positive": "s2"}})
    assert drop_constant_fields(plan).fields == {"price": "s3"}
    varying = Plan.parse({**PLAN, "filter": "s1 or s2", "fields": {"positive": "s2"}})
    assert drop_constant_fields(varying) == varying
