"""The proxy trained for real (small runs on real benchmark data) and used end to end."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
import torch

from falconer.bench.proxy_bench import calibration_on_test
from falconer.bench.tasks import BenchTask, load_task
from falconer.core import InputError
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.calibration import fit_temperature

pytestmark = pytest.mark.slow
PERSONS = "conll-persons"


@pytest.fixture(scope="module")
def persons(bench_dir: Path) -> BenchTask:
    return load_task(bench_dir / "tasks" / PERSONS)


@pytest.fixture(scope="module")
def trained(bench_dir: Path, persons: BenchTask) -> Proxy:
    sentiment = load_task(bench_dir / "tasks" / "sst2-positive")
    people, _ = persons.sample(160, seed=1)
    reviews, _ = sentiment.sample(64, seed=1)
    proxy = Proxy.from_pretrained("default", threads=2)
    proxy.fit(
        [persons.task_data(people), sentiment.task_data(reviews)],
        config=TrainConfig(min_steps=150, seed=1, threads=2),
    )
    return proxy


def test_save_and_load_give_identical_predictions(
    trained: Proxy, persons: BenchTask, tmp_path: Path
) -> None:
    texts = [d.text for d in persons.test[:40]]
    trained.save_pretrained(tmp_path / "proxy")
    assert not list((tmp_path / "proxy").rglob("*.bin")), (
        "weights must be safetensors, never pickle"
    )
    loaded = Proxy.from_pretrained(tmp_path / "proxy")
    assert loaded.get_span(texts, persons.instruction) == trained.get_span(
        texts, persons.instruction
    )
    reviews = [
        "a gorgeous , witty , seductive movie .",
        "the plot is nothing but boilerplate clichés .",
    ]
    assert loaded.get_label(reviews, "Is this movie review positive?") == trained.get_label(
        reviews, "Is this movie review positive?"
    )
    assert loaded.config.instructions == trained.config.instructions


def test_trained_proxy_finds_people_in_held_out_sentences(
    trained: Proxy, persons: BenchTask
) -> None:
    docs = [d for d in persons.test if d.spans][:60]
    results = trained.get_span([d.text for d in docs], persons.instruction)
    gold = {(i, s.key) for i, d in enumerate(docs) for s in d.spans or ()}
    found = {(i, s.key) for i, r in enumerate(results) for s in r.spans}
    assert len(gold & found) / len(gold) > 0.5
    for doc, result in zip(docs, results, strict=True):
        assert all(s.matches(doc.text) and 0 < s.confidence <= 1 for s in result.spans)


def test_an_entity_in_the_last_paragraph_of_a_5000_token_document_is_found(
    trained: Proxy, persons: BenchTask
) -> None:
    empty = [d.text for d in persons.test if not d.spans]
    candidates = [d for d in persons.test if d.spans][:60]
    alone = trained.get_span([d.text for d in candidates], persons.instruction)
    target = next(
        d
        for d, r in zip(candidates, alone, strict=True)
        if {s.key for s in r.spans} >= {s.key for s in d.spans or ()}
    )
    paragraphs, tokens, i = [], 0, 0
    while tokens < 5000:
        paragraph = " ".join(empty[i : i + 8])
        paragraphs.append(paragraph)
        tokens += len(trained.tokenizer.tokenize(paragraph))
        i += 8
    document = "\n\n".join([*paragraphs, target.text])
    offset = len(document) - len(target.text)
    assert len(trained.tokenizer.tokenize(document)) > 5000
    spans = trained.get_span([document], persons.instruction)[0].spans
    expected = {(s.start + offset, s.end + offset) for s in target.spans or ()}
    assert expected <= {s.key for s in spans}


def test_get_label_answers_one_probability_per_text(trained: Proxy) -> None:
    results = trained.get_label(["", "fine", "a " * 2000], "Is this movie review positive?")
    assert len(results) == 3
    assert all(0.0 <= r.probability <= 1.0 for r in results)


def test_bad_calls_are_input_errors(trained: Proxy) -> None:
    with pytest.raises(InputError):
        trained.get_label("one string", "Is it good?")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        trained.get_span(["text"], "  ")
    with pytest.raises(InputError):
        trained.fit([])
    both = [
        TaskData("Prices?", "label", [Example("It costs $5.", label=True)]),
        TaskData("Prices?", "span", [Example("It costs $5.", spans=())]),
    ]
    with pytest.raises(InputError, match="both a label and a span task"):
        trained.fit(both)
    with pytest.raises(InputError):
        trained.get_label([], " ")
    with pytest.raises(InputError, match=r"texts\[1\] is NoneType"):
        trained.get_label(["fine", None], "Is it good?")  # type: ignore[list-item]
    with pytest.raises(InputError, match=r"texts\[0\] is float"):
        trained.get_span([float("nan")], "Extract the names of people.")  # type: ignore[list-item]


def test_an_empty_batch_gets_no_answers(trained: Proxy) -> None:
    assert trained.get_label([], "Is this movie review positive?") == []
    assert trained.get_span([], "Extract the names of people.") == []


def test_temperature_scaling_changes_confidences_never_decisions(
    trained: Proxy, persons: BenchTask, bench_dir: Path
) -> None:
    sentiment = load_task(bench_dir / "tasks" / "sst2-positive")
    sentences = [d.text for d in persons.test[:60]]
    reviews = [d.text for d in sentiment.test[:60]]
    temperatures = dict(trained.config.temperatures)
    assert set(temperatures) == {persons.instruction, sentiment.instruction}
    calibrated = (
        trained.get_span(sentences, persons.instruction),
        trained.get_label(reviews, sentiment.instruction),
    )
    trained.config.temperatures.clear()
    try:
        raw = (
            trained.get_span(sentences, persons.instruction),
            trained.get_label(reviews, sentiment.instruction),
        )
    finally:
        trained.config.temperatures.update(temperatures)
    assert [r.texts for r in calibrated[0]] == [r.texts for r in raw[0]]
    assert [r.value for r in calibrated[1]] == [r.value for r in raw[1]]
    if temperatures[sentiment.instruction] != 1.0:
        assert [r.probability for r in calibrated[1]] != [r.probability for r in raw[1]]


def test_calibrated_confidences_match_accuracy_better_on_unseen_reviews(
    trained: Proxy, bench_dir: Path
) -> None:
    sentiment = load_task(bench_dir / "tasks" / "sst2-positive")
    errors = calibration_on_test(trained, sentiment, sentiment.test[:400])
    assert errors["ece"] < errors["ece_uncalibrated"]


def test_two_fits_with_the_same_seed_give_the_same_proxy(persons: BenchTask) -> None:
    people, _ = persons.sample(24, seed=3)
    texts = [d.text for d in persons.test[:20]]
    probabilities = []
    for _ in range(2):
        torch.rand(7)  # whatever ran before must not matter
        proxy = Proxy.from_pretrained("default", threads=2)
        proxy.fit(
            [persons.task_data(people)],
            config=TrainConfig(min_steps=12, eval_every=6, seed=5, threads=2),
        )
        probabilities.append(
            [s.confidence for r in proxy.get_span(texts, persons.instruction) for s in r.spans]
            + [r.probability for r in proxy.get_label(texts, persons.instruction)]
        )
    assert probabilities[0] == probabilities[1]


def test_only_checkpoints_of_the_second_half_of_a_fit_are_scored_and_kept(
    persons: BenchTask,
) -> None:
    people, _ = persons.sample(24, seed=3)
    proxy = Proxy.from_pretrained("default", threads=2)
    report = proxy.fit(
        [persons.task_data(people)],
        config=TrainConfig(min_steps=12, eval_every=3, seed=5, threads=2),
    )
    assert report.steps == 12
    assert [step for step, _ in report.history] == [6, 9, 12]
    assert report.best_step >= 6


def test_a_held_out_slice_without_mistakes_never_sharpens_confidences(
    trained: Proxy, bench_dir: Path
) -> None:
    sentiment = load_task(bench_dir / "tasks" / "sst2-positive")
    reviews = [d.text for d in sentiment.test[:40]]
    answers = trained.get_label(reviews, sentiment.instruction)
    agreeing = [Example(t, label=a.value) for t, a in zip(reviews, answers, strict=True)]
    mistaken = [*agreeing[:-4], *(Example(e.text, label=not e.label) for e in agreeing[-4:])]
    fit = partial(
        fit_temperature,
        trained.model,
        trained.tokenizer,
        trained.config,
        sentiment.instruction,
        "label",
    )
    assert fit(agreeing) >= 1.0
    assert fit(mistaken) != fit(agreeing)


def test_a_temperature_is_fitted_on_held_out_annotations_never_on_teacher_answers(
    persons: BenchTask,
) -> None:
    people, _ = persons.sample(64, seed=2)  # a held-out slice of 10, enough to fit on
    data = persons.task_data(people)
    taught = replace(data, examples=[replace(e, taught=True) for e in data.examples])
    temperatures = []
    for on_annotations in (True, False):
        proxy = Proxy.from_pretrained("default", threads=2)
        config = TrainConfig(
            min_steps=12, seed=5, threads=2, calibrate_on_annotations=on_annotations
        )
        temperatures.append(proxy.fit([taught], config=config).temperatures[persons.instruction])
    assert temperatures[0] == 1.0  # no annotation held out: left as trained
    assert temperatures[1] != 1.0  # the same slice of teacher answers would have moved it


def test_a_saved_proxy_is_a_warm_start_for_a_new_instruction(
    trained: Proxy, persons: BenchTask, bench_dir: Path, tmp_path: Path
) -> None:
    laptops = load_task(bench_dir / "tasks" / "laptop-aspects")
    reviews, _ = laptops.sample(32, seed=2)
    warm = Proxy.from_pretrained(trained.save_pretrained(tmp_path / "proxy"), threads=2)
    warm.fit([laptops.task_data(reviews)], config=TrainConfig(min_steps=20, seed=2, threads=2))
    assert laptops.instruction in warm.config.instructions
    assert persons.instruction in warm.config.instructions
    docs = [d for d in persons.test if d.spans][:60]
    gold = {(i, s.key) for i, d in enumerate(docs) for s in d.spans or ()}
    found = {
        (i, s.key)
        for i, r in enumerate(warm.get_span([d.text for d in docs], persons.instruction))
        for s in r.spans
    }
    assert len(gold & found) / len(gold) > 0.3  # what it knew before the new instruction
