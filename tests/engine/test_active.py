"""Active annotation: the least sure documents go to the annotator next, in rounds, and the
run report draws the learning curve. Real encoder, real embedded LLM."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from falconer.annotator.active import ActiveAnnotation, ActiveOptions, Question
from falconer.annotator.records import load_run
from falconer.annotator.sampling import sample_uncertain
from falconer.core.documents import Document
from falconer.core.tasks import Example, Kind, TaskData
from falconer.engine.corpus import Corpus
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.run_folder import TEACHER_TRAINING_FILE
from falconer.plan.schema import Plan
from falconer.proxy import Proxy, TrainConfig

SENTIMENT = "Is this movie review positive?"


def test_uncertain_sampling_takes_the_least_sure_first_and_spreads_out() -> None:
    docs = [Document(f"d{i}", f"review number {i}: " + "good " * (i % 7)) for i in range(100)]
    confidences = [0.5 + i / 200 for i in range(100)]
    chosen = sample_uncertain(docs, confidences, 5, seed=0)
    assert len({d.id for d in chosen}) == 5
    assert chosen[0].id == "d0"
    assert all(int(d.id[1:]) < 20 for d in chosen)  # among the 4 x 5 least sure


@pytest.mark.slow
def test_active_mine_annotates_in_rounds_reports_the_learning_curve_and_can_be_taught(
    bench_dir: Path, tmp_path: Path, tiny_backbone_dir: Path
) -> None:
    lines = (bench_dir / "tasks" / "sst2-positive" / "test.jsonl").read_text().splitlines()
    corpus_path = tmp_path / "reviews.jsonl"
    corpus_path.write_text(
        "\n".join(json.dumps({"text": json.loads(x)["text"]}) for x in lines[:150])
    )
    step = {"id": "positive", "op": "get_label", "instruction": SENTIMENT}
    plan = Plan.parse({"steps": [step], "fields": {"positive": "positive"}})
    options = MineOptions(
        n_annotate=32,
        active=True,
        active_start=16,
        active_step=8,
        min_steps=15,
        threads=2,
        backbone=str(tiny_backbone_dir),
        distil_from=str(tiny_backbone_dir),
        distil_pool=20,
        runtime="torch",  # the default runtime's check has tests of its own
    )
    report = Miner(tmp_path / "run", options, log=lambda _: None).run(
        Corpus(corpus_path), plan=plan
    )

    rounds = [r for r in report.learning_curve if "round" in r]
    annotated = [r["annotated"][SENTIMENT] for r in rounds]
    assert annotated[0] == 16 and len(rounds) >= 2
    assert annotated == sorted(set(annotated)) and annotated[-1] <= 32
    assert report.learning_curve[-1]["stopped"] in {"budget", "plateau"}
    saved = load_run(tmp_path / "run" / "annotations" / "positive.jsonl")
    assert len(saved.annotations) + len(saved.failures) == annotated[-1]
    assert len({a.doc_id for a in saved.annotations}) == len(saved.annotations)
    assert report.steps[0]["held_out"] == 4  # a quarter of the random first round
    assert report.execute["documents"] == 150
    assert "Active annotation: learning curve" in (tmp_path / "run" / "report.md").read_text()
    # the teacher learnt from the last round's training set and taught the executing proxy
    teacher = json.loads((tmp_path / "run" / TEACHER_TRAINING_FILE).read_text())["report"]
    training = json.loads((tmp_path / "run" / "training.json").read_text())["report"]
    assert teacher["n_train"] == rounds[-1]["trained_on"][SENTIMENT]
    assert "teach" in report.seconds
    # a tiny encoder's teacher, judged on 4 held-out answers, may beat no constant answer even
    # when trained again (test_distillation.py); then the proxy learns from the annotations
    taught = 0 if report.steps[0]["distilled"].get("untaught") else 20
    assert report.steps[0]["distilled"]["taught"] == taught
    assert training["n_train"] == teacher["n_train"] + taught


@pytest.mark.parametrize("selecting", [True, False])
def test_held_out_slice_is_never_trained_on_and_chooses_checkpoints_unless_told_not_to(
    bench_dir: Path, tiny_backbone_dir: Path, selecting: bool
) -> None:
    rows = (bench_dir / "tasks" / "sst2-positive" / "train.jsonl").read_text().splitlines()
    gold = {r["id"]: r for r in map(json.loads, rows[:120])}
    documents = [Document(i, r["text"]) for i, r in gold.items()]
    trained: list[list[TaskData]] = []
    reports = []

    def annotate(instruction: str, kind: Kind, docs: Sequence[Document]) -> dict[str, Example]:
        return {d.id: Example(d.text, label=bool(gold[d.id]["label"])) for d in docs}

    def train(tasks: list[TaskData]) -> Proxy:
        trained.append(tasks)
        proxy = Proxy.from_pretrained(str(tiny_backbone_dir), threads=2)
        reports.append(proxy.fit(tasks, config=TrainConfig(min_steps=4, threads=2)))
        return proxy

    options = ActiveOptions(
        start=32, step=16, budget=64, pool=80, select_on_held_out=selecting, min_gain=-1.0
    )
    result = ActiveAnnotation(
        [Question(SENTIMENT, "label")], documents, annotate, train, options, log=lambda _: None
    ).run()

    held = {e.text for e in result.held_out[SENTIMENT]}
    assert len(held) == 8 and len(trained) == 3
    for tasks, report in zip(trained, reports, strict=True):
        assert not held & {e.text for e in tasks[0].examples}
        assert {e.text for e in tasks[0].dev} == (held if selecting else set())
        assert report.n_dev == (8 if selecting else round(len(tasks[0].examples) * 0.15))
    assert [r.trained_on[SENTIMENT] for r in result.rounds] == [24, 40, 56]
