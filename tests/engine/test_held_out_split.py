"""What `falconer mine` does with the annotations it holds out of training."""

from __future__ import annotations

from pathlib import Path

import pytest

from falconer.annotator.records import Annotation, AnnotationRun, Provenance, save_run
from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.run_folder import reusable_run
from falconer.plan.schema import Plan, Step

INSTRUCTION = "Is this review positive?"
PLAN = Plan.parse(
    {"steps": [{"id": "s1", "op": "get_label", "instruction": INSTRUCTION}], "fields": {"p": "s1"}}
)


def _runs() -> dict[str, AnnotationRun]:
    provenance = Provenance("embedded", "m", "label_v2", "2026-11-30T00:00:00+00:00")
    annotations = [
        Annotation(f"d{i}", f"review {i}", INSTRUCTION, "label", provenance, label=i % 2 == 0)
        for i in range(40)
    ]
    return {"s1": AnnotationRun(INSTRUCTION, "label", annotations)}


def test_held_out_annotations_pick_the_checkpoint_unless_a_cascade_sets_thresholds_on_them(
    tmp_path: Path,
) -> None:
    plain = Miner(tmp_path, MineOptions(held_out=0.25))
    (task,), held = plain._split(PLAN, _runs())
    texts = {e.text for e in task.examples}
    assert len(held["s1"]) == 10 and len(texts) == 30
    assert [e.text for e in task.dev] == [e.text for e in held["s1"]]
    assert not texts & {e.text for e in held["s1"]}  # measured on, never trained on

    cascade = Miner(tmp_path, MineOptions(held_out=0.25, target_agreement=0.95))
    (task,), held = cascade._split(PLAN, _runs())
    assert len(held["s1"]) == 10 and not task.dev


def test_label_decisions_are_centred_on_corpus_texts_the_annotator_never_saw(
    tmp_path: Path,
) -> None:
    sample = [Document(f"d{i}", f"review {i}") for i in range(0, 100, 2)]  # d0, d2, ... d98
    miner = Miner(tmp_path, MineOptions(offset_pool=12))
    pools = miner._unannotated(PLAN, sample, _runs())  # d0..d39 annotated
    assert pools == {INSTRUCTION: [f"review {i}" for i in range(40, 64, 2)]}
    assert Miner(tmp_path, MineOptions(offset_pool=0))._unannotated(PLAN, sample, _runs()) == {}


def test_a_span_type_for_the_run_types_every_untyped_span_step_and_a_typo_fails_at_once(
    tmp_path: Path,
) -> None:
    plan = Plan.parse(
        {
            "steps": [
                {"id": "s1", "op": "get_label", "instruction": INSTRUCTION},
                {"id": "s2", "op": "get_span", "instruction": "Extract the names of people."},
                {
                    "id": "s3",
                    "op": "get_span",
                    "instruction": "Extract the clubs.",
                    "span_type": "organization",
                },
            ],
            "filter": "s1",
            "fields": {"people": "s2", "clubs": "s3"},
        }
    )
    miner = Miner(tmp_path, MineOptions(span_type="person"))
    typed, _ = miner._plan(None, plan, [])
    assert typed.span_types == {
        "Extract the names of people.": "person",
        "Extract the clubs.": "organization",
    }
    assert Plan.from_json((tmp_path / "plan.json").read_text()) == typed
    with pytest.raises(InputError, match="span type must be one of"):
        Miner(tmp_path, MineOptions(span_type="people"))


def test_saved_annotations_are_reused_only_for_the_span_type_they_were_checked_against(
    tmp_path: Path,
) -> None:
    people = "Extract the names of people."
    checked = Provenance("embedded", "m", "span_v2", "2026-12-03T00:00:00+00:00", checks="t:person")
    docs = [Document(f"d{i}", f"Ann met Bob {i} .") for i in range(4)]
    run = AnnotationRun(people, "span")
    run.annotations += [Annotation(d.id, d.text, people, "span", checked, spans=()) for d in docs]
    save_run(run, tmp_path / "s1.jsonl")

    def step(span_type: str | None) -> Step:
        return Step(id="s1", op="get_span", instruction=people, span_type=span_type)

    assert reusable_run(tmp_path / "s1.jsonl", step("person"), docs) is not None
    assert reusable_run(tmp_path / "s1.jsonl", step(None), docs) is None
    assert reusable_run(tmp_path / "s1.jsonl", step("location"), docs) is None
