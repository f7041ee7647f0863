"""Distillation: a teacher proxy's answers on unannotated documents become training data for the
proxy that executes (`proxy.distillation`, `falconer mine --distil-from`)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from falconer.annotator.records import Annotation, AnnotationRun, Provenance
from falconer.bench.tasks import load_task
from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.core.tasks import Example, TaskData
from falconer.engine.corpus import Corpus, sample_documents
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.run_folder import STEP_TEACHERS_DIR, TEACHER_DIR, TEACHER_TRAINING_FILE
from falconer.plan.schema import Plan
from falconer.proxy import Proxy
from falconer.proxy.checks import beats_constant_answers
from falconer.proxy.distillation import taught_tasks

SENTIMENT = "Is this movie review positive?"
ONE_STEP = Plan.parse(
    {
        "steps": [{"id": "positive", "op": "get_label", "instruction": SENTIMENT}],
        "filter": "positive",
        "fields": {},
    }
)


def test_the_teacher_answers_become_training_examples_and_the_held_out_slice_stays_the_llm_s(
    small_proxy: Proxy, instructions: tuple[str, str]
) -> None:
    sentiment, people = instructions
    texts = ["a charming , funny film .", "Peter Blackburn met John Smith in Brussels .", "dull ."]
    dev = [Example("it 's a mess .", label=False)]
    tasks = [
        TaskData(sentiment, "label", [Example("great !", label=True)], dev),
        TaskData(people, "span", [Example("Ann left .", spans=())]),
    ]
    taught, lessons = taught_tasks(small_proxy, tasks, texts)

    labels = small_proxy.get_label(texts, sentiment)  # taught yes/no: its confidence is P(yes)
    assert [(e.text, e.label, e.probability) for e in taught[0].examples[1:]] == [
        (t, r.value, r.probability) for t, r in zip(texts, labels, strict=True)
    ]
    assert taught[0].examples[0] == tasks[0].examples[0] and taught[0].dev == dev
    assert [e.taught for e in taught[0].examples] == [False, True, True, True]  # not annotations
    spans = small_proxy.get_span(texts, people)
    assert [e.spans for e in taught[1].examples[1:]] == [r.spans for r in spans]
    assert lessons[0].taught == 3 and lessons[0].yes_share == sum(r.value for r in labels) / 3
    assert lessons[1].with_spans == sum(bool(r.spans) for r in spans)

    # a teacher that learnt its annotator's P(yes) hands on its estimate of that, on the
    # annotator's scale; the yes/no stays its decision
    small_proxy.config.target_stretches[sentiment] = 2.0
    try:
        relearnt, _ = taught_tasks(small_proxy, tasks, texts)
        estimates = small_proxy.annotator_probabilities(texts, sentiment)
    finally:
        del small_proxy.config.target_stretches[sentiment]
    assert [e.probability for e in relearnt[0].examples[1:]] == estimates
    assert estimates != [r.probability for r in labels]
    assert [e.label for e in relearnt[0].examples[1:]] == [r.value for r in labels]


def test_a_span_answer_less_sure_than_the_floor_is_left_out_of_what_the_teacher_teaches(
    small_proxy: Proxy, instructions: tuple[str, str]
) -> None:
    _, people = instructions
    texts = [
        "Peter Blackburn met John Smith in Brussels .",
        "a charming , funny film .",
        "Ann and Bob Dylan sang in Paris .",
        "EU rejects German call to boycott British lamb .",
    ]
    task = TaskData(people, "span", [Example("Ann left .", spans=())])
    answers = small_proxy.get_span(texts, people)
    floor = sorted(r.confidence for r in answers)[2]  # two answers under it, two not
    (taught,), (lesson,) = taught_tasks(small_proxy, [task], texts, span_floor=floor)

    sure = [(t, r.spans) for t, r in zip(texts, answers, strict=True) if r.confidence >= floor]
    assert [(e.text, e.spans) for e in taught.examples[1:]] == sure and len(sure) == 2
    assert lesson.taught == 2 and lesson.to_dict()["left_out_unsure"] == 2
    (everything,), (all_taught,) = taught_tasks(small_proxy, [task], texts)
    assert len(everything.examples) == 1 + 4 and "left_out_unsure" not in all_taught.to_dict()


def _oracle_sentiment_run(
    folder: Path, bench_dir: Path, backbone: Path, n_annotate: int, **options: Any
) -> tuple[Corpus, Plan, MineOptions, AnnotationRun, list[Document]]:
    """80 sst2 test reviews as the corpus, a one-step sentiment plan, options distilling from
    `backbone` into itself, and gold answers of `n_annotate` reviews as the annotations."""
    docs = load_task(bench_dir / "tasks" / "sst2-positive").test[:80]
    corpus_path = folder / "corpus.jsonl"
    corpus_path.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in docs))
    corpus = Corpus(corpus_path)
    step = {"id": "s1", "op": "get_label", "instruction": SENTIMENT}
    plan = Plan.parse({"steps": [step], "fields": {"p": "s1"}})
    mine_options = MineOptions(
        n_annotate=n_annotate,
        backbone=str(backbone),
        distil_from=str(backbone),
        distil_pool=30,
        min_steps=10,
        runtime="torch",
        threads=2,
        **options,
    )
    gold = {d.id: d.label for d in docs}
    provenance = Provenance("oracle", "gold", "none", "2026-12-02T00:00:00+00:00")
    annotated = sample_documents(corpus, n_annotate, mine_options.seed)
    oracle = AnnotationRun(
        SENTIMENT,
        "label",
        [Annotation(d.id, d.text, SENTIMENT, "label", provenance, gold[d.id]) for d in annotated],
    )
    return corpus, plan, mine_options, oracle, annotated


def test_a_distilled_run_trains_a_teacher_and_teaches_the_proxy_on_documents_nobody_annotated(
    tmp_path: Path, bench_dir: Path, tiny_backbone_dir: Path
) -> None:
    # held_out=0: nothing to judge the teacher by; 10 steps of a tiny encoder beat no constant
    # answer, and a teacher that does not is trained again (below)
    corpus, plan, options, oracle, annotated = _oracle_sentiment_run(
        tmp_path, bench_dir, tiny_backbone_dir, 24, held_out=0.0
    )
    run = tmp_path / "run"
    miner = Miner(run, options, log=lambda _: None)
    report = miner.run(corpus, plan=plan, given={"s1": oracle})

    assert (run / TEACHER_DIR / "proxy.json").is_file() and (run / TEACHER_TRAINING_FILE).is_file()
    assert report.steps[0]["distilled"]["taught"] == 30 and "teach" in report.seconds
    taught = miner._teaching_texts(corpus, {"s1": oracle}, options.distil_pool)
    assert len(taught) == 30 and not set(taught) & {d.text for d in annotated}
    training = json.loads((run / "training.json").read_text())["report"]
    teacher = json.loads((run / TEACHER_TRAINING_FILE).read_text())["report"]
    seen = training["n_train"] + training["n_dev"]  # the annotations, and its answers
    assert seen == teacher["n_train"] + teacher["n_dev"] + 30


def _saying_no_to_everything(proxy: Proxy) -> Proxy:
    """Fault injection: the collapse of a fit (one answer, whatever the text)."""
    last = proxy.model.label_head[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(-20.0)
    return proxy


def test_a_proxy_beats_constant_answers_only_when_it_answers_better_than_one_way_always(
    small_proxy_dir: Path, bench_dir: Path, instructions: tuple[str, str]
) -> None:
    sentiment, people = instructions
    proxy = Proxy.from_pretrained(small_proxy_dir, threads=2)
    texts = [d.text for d in load_task(bench_dir / "tasks" / "sst2-positive").test[:40]]
    own = [r.value for r in proxy.get_label(texts, sentiment)]
    assert 0 < sum(own) < len(own)  # both answers, so one way always is not as good
    agreeing = [Example(t, label=v) for t, v in zip(texts, own, strict=True)]
    opposite = [Example(t, label=not v) for t, v in zip(texts, own, strict=True)]
    assert beats_constant_answers(proxy, sentiment, "label", agreeing)
    assert not beats_constant_answers(proxy, sentiment, "label", opposite)
    one_answer = [Example(t, label=True) for t in texts]
    assert beats_constant_answers(proxy, sentiment, "label", one_answer)  # nothing to judge by
    sentences = [d.text for d in load_task(bench_dir / "tasks" / "conll-persons").test[:40]]
    found = [r.spans for r in proxy.get_span(sentences, people)]
    assert any(found)
    assert beats_constant_answers(
        proxy, people, "span", [Example(t, spans=s) for t, s in zip(sentences, found, strict=True)]
    )
    assert beats_constant_answers(proxy, people, "span", [Example(t, spans=()) for t in sentences])
    assert not beats_constant_answers(_saying_no_to_everything(proxy), sentiment, "label", agreeing)


def test_a_teacher_that_collapses_is_trained_again_at_half_the_rate_and_else_not_used(
    tmp_path: Path, bench_dir: Path, tiny_backbone_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, plan, options, oracle, _ = _oracle_sentiment_run(
        tmp_path, bench_dir, tiny_backbone_dir, 40
    )
    train = Miner._train

    def collapsing_teacher(miner: Miner, *args: Any, **kwargs: Any) -> Proxy:
        proxy = train(miner, *args, **kwargs)
        return _saying_no_to_everything(proxy) if kwargs.get("teacher") else proxy

    monkeypatch.setattr(Miner, "_train", collapsing_teacher)
    run = tmp_path / "run"
    report = Miner(run, options, log=lambda _: None).run(corpus, plan=plan, given={"s1": oracle})

    assert report.steps[0]["distilled"] == {
        "taught": 0,
        "teacher_retried": True,
        "untaught": "the teacher beat no constant answer",
    }
    first = json.loads((run / TEACHER_TRAINING_FILE).read_text())["report"]
    retry = json.loads((run / "teacher-training-retry.json").read_text())["report"]
    assert (run / f"{TEACHER_DIR}-retry" / "proxy.json").is_file()
    assert retry["learning_rate"] == pytest.approx(first["learning_rate"] / 2)
    training = json.loads((run / "training.json").read_text())["report"]
    assert training["n_train"] == first["n_train"]  # the annotations alone


def _reviews_with_gold_sentiment(
    folder: Path, bench_dir: Path, backbone: Path, n_docs: int, n_annotate: int
) -> tuple[Corpus, MineOptions, list[Annotation], Provenance]:
    """A corpus of sst2 test reviews, tiny-backbone options, and gold yes/no answers for the
    reviews the run would annotate."""
    reviews = load_task(bench_dir / "tasks" / "sst2-positive").test[:n_docs]
    corpus_path = folder / "corpus.jsonl"
    lines = (json.dumps({"id": d.id, "text": d.text}) + "\n" for d in reviews)
    corpus_path.write_text("".join(lines))
    corpus = Corpus(corpus_path)
    options = MineOptions(
        n_annotate=n_annotate,
        backbone=str(backbone),
        min_steps=6,
        runtime="torch",
        threads=2,
        held_out=0.0,
    )
    provenance = Provenance("oracle", "gold", "none", "2026-12-05T00:00:00+00:00")
    gold = {d.id: d.label for d in reviews}
    labels = [
        Annotation(d.id, d.text, SENTIMENT, "label", provenance, gold[d.id])
        for d in sample_documents(corpus, n_annotate, options.seed)
    ]
    return corpus, options, labels, provenance


def test_a_plan_of_several_steps_teaches_each_step_with_a_proxy_fitted_on_it_alone(
    tmp_path: Path, bench_dir: Path, tiny_backbone_dir: Path, plan: Plan
) -> None:
    corpus, options, labels, provenance = _reviews_with_gold_sentiment(
        tmp_path, bench_dir, tiny_backbone_dir, n_docs=80, n_annotate=24
    )
    sentiment, people = (step.instruction for step in plan.steps)
    assert sentiment == SENTIMENT
    given = {
        "positive": AnnotationRun(sentiment, "label", labels),
        "people": AnnotationRun(
            people,
            "span",
            [Annotation(a.doc_id, a.text, people, "span", provenance, spans=()) for a in labels],
        ),
    }
    run = tmp_path / "run"
    logged: list[str] = []
    report = Miner(run, options, log=logged.append).run(corpus, plan=plan, given=given)

    teacher_folder = run / STEP_TEACHERS_DIR / "positive"
    assert (teacher_folder / "proxy.json").is_file()
    taught = report.steps[0]["distilled"]
    assert taught["teacher"] == "the step alone" and taught["taught"] == 80 - 24
    spans = report.steps[1]["distilled"]  # span answers are taught where the teacher is sure
    assert spans["teacher"] == "the step alone" and (run / STEP_TEACHERS_DIR / "people").is_dir()
    assert spans["taught"] + spans.get("left_out_unsure", 0) == 80 - 24
    teacher = json.loads(teacher_folder.with_name("positive-training.json").read_text())
    assert teacher["report"]["n_train"] + teacher["report"]["n_dev"] == 24  # that step alone
    training = json.loads((run / "training.json").read_text())["report"]
    assert training["n_train"] + training["n_dev"] == 2 * 24 + 80 - 24 + spans["taught"]

    again: list[str] = []
    Miner(run, options, log=again.append).run(corpus, plan=plan, given=given)
    assert any(f"reusing the proxy in {teacher_folder}" in line for line in again)
    alone = tmp_path / "alone"
    off = replace(options, step_teachers=False)
    report = Miner(alone, off, log=lambda _: None).run(corpus, plan=plan, given=given)
    assert not (alone / STEP_TEACHERS_DIR).exists() and "distilled" not in report.steps[0]


@pytest.mark.parametrize("teacher_pool", [1000, 10])
def test_a_plan_of_one_yes_no_step_is_fitted_twice_the_second_fit_learning_the_first_s_answers(
    tmp_path: Path, bench_dir: Path, tiny_backbone_dir: Path, teacher_pool: int
) -> None:
    corpus, options, labels, _ = _reviews_with_gold_sentiment(
        tmp_path, bench_dir, tiny_backbone_dir, n_docs=60, n_annotate=20
    )
    given = {"positive": AnnotationRun(SENTIMENT, "label", labels)}
    run = tmp_path / "run"
    options = replace(options, teacher_pool=teacher_pool)
    report = Miner(run, options, log=lambda _: None).run(corpus, plan=ONE_STEP, given=given)

    answered = min(60 - 20, teacher_pool)  # the unannotated documents, up to the pool
    first = json.loads((run / STEP_TEACHERS_DIR / "positive-training.json").read_text())
    assert first["report"]["n_train"] + first["report"]["n_dev"] == 20
    second = json.loads((run / "training.json").read_text())["report"]
    assert second["n_train"] + second["n_dev"] == 20 + answered
    taught = report.steps[0]["distilled"]
    assert taught["teacher"] == "the step alone" and taught["taught"] == answered
    assert "teach" in report.seconds


def test_a_teacher_pool_under_one_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="teach from at least 1 document"):
        Miner(tmp_path, MineOptions(teacher_pool=0))
