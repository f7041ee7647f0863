"""Distillation: a proxy on a larger backbone teaches the proxy that executes.

Why: a wider encoder learns the annotator's few hundred answers far better than MiniLM does
(sst2, 225 LLM annotations: MPNet 0.843 against gold on 572 unannotated test reviews, MiniLM
0.757), but runs ~8x slower, too slow for the execute stage. Its answers on unannotated
documents cost no LLM call, and MiniLM trained on them as well keeps the wider encoder's
quality at MiniLM's speed: 0.841 on those reviews when MPNet answered 4,000 others (sst2's
train texts), 0.850 when it answered those very reviews (scripts/experiments/distil_sst2.py).
The teacher has to answer thousands: taught on 286 of the reviews, MiniLM scored 0.762 on
the other 286.

A label step is taught on the annotator's scale. The student also learns the LLM's own P(yes),
and the teacher's `get_label` probabilities sit elsewhere: re-centred on the annotator's
yes-share and sharpened by a temperature (laptop-criticized, seed 4: the LLM's P(yes) average
0.39, the teacher's decision-ready ones 0.11 at T = 0.25). Taught those, the student met two
scales for one question, and its filter threshold, fitted on the very texts it was taught,
stayed at 0.5: span F1 0.235 against LLM-only's 0.263. Taught the teacher's estimate of the
LLM's P(yes) (mean 0.32), the same student re-trained from the same run scores 0.322, its
filter at 0.343 (scripts/experiments/distil_label_targets.py). The yes/no stays the teacher's.

Step teachers: one proxy for several steps loses on its yes/no steps what a proxy for that
step alone keeps (oracle N=256, five tasks, seeds 0-4: sst2 3.3 points under single-task,
agnews 2.5), and no change to the shared fit's loss, batches, gradients, head or top layers
closed that (docs/results.md). As in born-again multitask networks (Clark et al. 2019), each step of
a multi-step fit is first fitted alone on the same backbone and answers up to
STEP_TEACHER_POOL unannotated texts for the shared fit to learn from as well.

A plan of one yes/no step is taught the same way: its proxy, fitted once, answers the
unannotated texts and a second fit on the same backbone learns from those answers too
(born-again networks, Furlanello et al. 2018). Oracle N=256, seeds 0-2: sst2 0.786 -> 0.802,
agnews 0.935 -> 0.936, at twice the training time; a seed ensemble of three first fits
taught less than one (sst2 0.795; scripts/experiments/seed_ensemble_teacher.py).

Span steps are taught by their first fit too. A span answer carries no soft target, so a
step teacher's unsure answers (its least sure word under SPAN_TEACHER_FLOOR: 12-63% of them
at 256 oracle annotations, 87% at 100 LLM ones on laptop reviews) are left out rather than
taught as if sure. Oracle N=256, one task, seeds 0-2, exact F1 (docs/results.md): persons 0.808 ->
0.840, ncbi 0.650 -> 0.657; taught every answer, 0.835 and 0.658 at 10-25% more training
time. A third generation, or a first fit answering all 3,744 unannotated train texts, taught
no more (sst2 0.800 and 0.796, persons 0.842 and 0.842;
scripts/experiments/born_again_generations.py), nor did the teacher's per-word tag
probabilities as soft targets in place of the floor (persons 0.841, ncbi 0.660;
scripts/experiments/soft_span_targets.patch), nor its answers made consistent across texts
by surface string (persons 0.836, ncbi 0.656; consistent_teacher_answers.patch), nor as
many answers kept in the teacher's own share of answers with spans, the surest of each kind,
rather than by the floor alone, which keeps mostly empty ones (persons 0.831, ncbi 0.657;
per_class_span_floor.patch), nor a seed ensemble of three first fits voting on each span
(persons 0.840, its teachers' vote 0.824 against 0.808 for one;
scripts/experiments/seed_ensemble_teacher.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from falconer.core.callbacks import Progress
from falconer.core.tasks import Example, TaskData
from falconer.proxy.proxy import Proxy

CHUNK = 256  # texts per call to the teacher, so the progress bar moves
STEP_TEACHER_POOL = 1000  # unannotated texts a step teacher answers (3,744 taught no more)
SPAN_TEACHER_FLOOR = 0.9  # a step teacher's span answer less sure than this is not taught


@dataclass(frozen=True, slots=True)
class Lesson:
    """What the teacher added to one step's training data."""

    instruction: str
    taught: int  # unannotated texts whose answers it added
    yes_share: float | None  # label steps: how many of them it said yes to
    with_spans: int | None  # span steps: how many of them got at least one span
    # the first teacher answered its held-out annotations no better than a constant answer
    # and was trained again at half the rate; `untaught`: so did the second, and the step
    # learns from its annotations alone
    retried: bool = False
    untaught: bool = False
    step_teacher: bool = False  # taught by a proxy fitted on this step alone
    unsure: int = 0  # span answers left out, their least sure word under the floor

    def to_dict(self) -> dict[str, Any]:
        return {
            "taught": self.taught,
            **({"yes_share": round(self.yes_share, 4)} if self.yes_share is not None else {}),
            **({"with_spans": self.with_spans} if self.with_spans is not None else {}),
            **({"teacher_retried": True} if self.retried else {}),
            **({"untaught": "the teacher beat no constant answer"} if self.untaught else {}),
            **({"teacher": "the step alone"} if self.step_teacher else {}),
            **({"left_out_unsure": self.unsure} if self.unsure else {}),
        }


def taught_tasks(
    teacher: Proxy,
    tasks: Sequence[TaskData],
    texts: Sequence[str],
    progress: Progress | None = None,
    span_floor: float = 0.0,
) -> tuple[list[TaskData], list[Lesson]]:
    """Each task with the teacher's answers on `texts` appended to its examples: labels with
    the teacher's decision and its estimate of the annotator's P(true) (soft targets on the
    LLM's own scale), spans as found where the answer's confidence reaches `span_floor`. A
    task's own held-out `dev` slice stays the annotator's; a task without one has the fit
    hold out a slice of all its examples, the teacher's answers among them (a slice of the
    annotations alone measured no better: docs/results.md, "Which slice the student holds out");
    the answers are marked `taught`, so the temperature is fitted on the annotations in it."""
    taught, lessons = [], []
    for task in tasks:
        examples = _teacher_examples(teacher, task, texts, progress, span_floor)
        taught.append(replace(task, examples=[*task.examples, *examples]))
        lessons.append(_lesson(task, examples, answered=len(texts)))
    return taught, lessons


def _teacher_examples(
    teacher: Proxy,
    task: TaskData,
    texts: Sequence[str],
    progress: Progress | None,
    span_floor: float,
) -> list[Example]:
    examples: list[Example] = []
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        if task.kind == "label":
            labels = teacher.get_label(chunk, task.instruction)
            soft = teacher.annotator_probabilities(chunk, task.instruction)
            examples += [
                Example(text, label=r.value, probability=p, taught=True)
                for text, r, p in zip(chunk, labels, soft, strict=True)
            ]
        else:
            spans = teacher.get_span(chunk, task.instruction)
            examples += [
                Example(text, spans=r.spans, taught=True)
                for text, r in zip(chunk, spans, strict=True)
                if r.confidence >= span_floor
            ]
        if progress:
            progress(f"teach: {task.instruction[:40]}", start + len(chunk), len(texts))
    return examples


def _lesson(task: TaskData, examples: Sequence[Example], answered: int) -> Lesson:
    if task.kind == "label":
        yes = sum(bool(e.label) for e in examples)
        return Lesson(task.instruction, len(examples), yes / max(len(examples), 1), None)
    with_spans = sum(bool(e.spans) for e in examples)
    unsure = answered - len(examples)  # left out under the floor
    return Lesson(task.instruction, len(examples), None, with_spans, unsure=unsure)
