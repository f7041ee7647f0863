"""Active annotation: after a first random round, annotate next where the proxy is least sure.

Each round trains the proxy on everything annotated so far, scores a pool of unannotated
documents, and sends the least sure ones (spread out over the embedding space, so one
confusing kind of document does not take the whole round) to the annotator. It stops when
the agreement on a fixed held-out slice of the first, random round stops improving, or when
the budget is spent. The held-out slice is never trained on and never chosen actively. By
default it also chooses each round's checkpoint and temperature (the trainer would otherwise
hold out a second slice, and train on a fifth less of what was paid for), which makes the
learning curve slightly optimistic; a cascade that sets thresholds on it turns that off.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from falconer.annotator.sampling import sample_uncertain
from falconer.core.callbacks import Log
from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.core.tasks import Example, Kind, TaskData
from falconer.proxy import Proxy
from falconer.proxy.checks import check_answers, confidences

# instruction, kind, documents -> their annotations (a document the annotator failed on is
# simply absent)
Annotate = Callable[[str, Kind, Sequence[Document]], dict[str, Example]]
Train = Callable[[list[TaskData]], Proxy]
OnRound = Callable[[Proxy, "ActiveRound"], None]


@dataclass(frozen=True, slots=True)
class Question:
    """One primitive call to annotate for: what is asked, and whether of a label or spans."""

    instruction: str
    kind: Kind

    def asked(self) -> tuple[str, Kind]:
        return self.instruction, self.kind


@dataclass(slots=True)
class ActiveOptions:
    start: int = 64  # documents of the first, random round (per question)
    step: int = 32  # documents added per later round
    budget: int = 256  # annotated documents per question at most, held-out slice included
    held_out: float = 0.25  # of the first round, to measure agreement on
    pool: int = 2000  # unannotated documents scored per round
    min_gain: float = 0.005  # a round that gains less than this is a plateau
    patience: int = 1  # plateau rounds in a row before stopping
    select_on_held_out: bool = True  # the held-out slice picks checkpoints (see above)
    # share of each later round drawn at random from the pool rather than by unsureness:
    # the least sure are often ambiguous or mislabelled, and a small proxy's sureness is
    # itself a rough guide
    explore: float = 0.0
    seed: int = 0

    def check(self) -> None:
        if self.start < 8 or self.step < 1:
            raise InputError("active annotation needs a first round of >= 8 and a step >= 1")
        if self.budget < self.start:
            raise InputError(f"budget {self.budget} is smaller than the first round {self.start}")
        if not 0 < self.held_out < 1:
            raise InputError(f"held-out share must be in (0, 1), got {self.held_out}")
        if not 0 <= self.explore <= 1:
            raise InputError(f"explored share must be in [0, 1], got {self.explore}")


@dataclass(slots=True)
class ActiveRound:
    """One point of the learning curve."""

    round: int
    annotated: dict[str, int]  # sent to the annotator per instruction (failures, held out too)
    trained_on: dict[str, int]
    agreement: dict[str, float]  # held-out agreement per instruction
    mean_agreement: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. test scores in a benchmark

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ActiveResult:
    proxy: Proxy
    train: list[TaskData]
    held_out: dict[str, list[Example]]
    rounds: list[ActiveRound]
    stopped: str  # why: "budget", "plateau" or "pool exhausted"


class ActiveAnnotation:
    """Rounds of train -> find the unsure -> annotate, for every question of a plan at once
    (one proxy serves them all)."""

    def __init__(
        self,
        questions: Sequence[Question],
        documents: Sequence[Document],
        annotate: Annotate,
        train: Train,
        options: ActiveOptions | None = None,
        on_round: OnRound | None = None,
        log: Log = print,
    ) -> None:
        self.questions = list(questions)
        self.documents = list(documents)
        self.annotate = annotate
        self.train = train
        self.options = options or ActiveOptions()
        self.options.check()
        self.on_round = on_round
        self.log = log

    def run(self) -> ActiveResult:
        rng = random.Random(self.options.seed)
        order = list(self.documents)
        rng.shuffle(order)
        first = order[: self.options.start]
        labelled = {q.instruction: self.annotate(*q.asked(), first) for q in self.questions}
        empty = [i for i, examples in labelled.items() if not examples]
        if empty:
            raise InputError(f"the annotator answered none of the first round for {empty[0]!r}")
        held_ids = {i: self._held_out(examples, rng) for i, examples in labelled.items()}
        held_out = {i: [labelled[i][d] for d in ids] for i, ids in held_ids.items()}
        seen = {d.id for d in first}
        # documents sent to the annotator, failures included: they cost as much
        asked = {q.instruction: len(first) for q in self.questions}
        rounds: list[ActiveRound] = []
        while True:
            started = time.perf_counter()
            tasks = [self._task(q, labelled, held_ids) for q in self.questions]
            proxy = self.train(tasks)
            rounds.append(self._round(len(rounds), proxy, asked, tasks, held_out, started))
            if self.on_round is not None:
                self.on_round(proxy, rounds[-1])
            stopped = self._stop(rounds, asked)
            if stopped:
                self.log(f"active annotation stopped: {stopped}")
                return ActiveResult(proxy, tasks, held_out, rounds, stopped)
            pool = [d for d in order if d.id not in seen][: self.options.pool]
            if not pool:
                return ActiveResult(proxy, tasks, held_out, rounds, "pool exhausted")
            for question in self.questions:
                room = self.options.budget - asked[question.instruction]
                chosen = self._choose(proxy, question, pool, min(self.options.step, room), rng)
                seen.update(d.id for d in chosen)
                asked[question.instruction] += len(chosen)
                labelled[question.instruction].update(self.annotate(*question.asked(), chosen))

    def _held_out(self, annotations: dict[str, Example], rng: random.Random) -> list[str]:
        ids = sorted(annotations)
        rng.shuffle(ids)
        return ids[: round(len(ids) * self.options.held_out)]

    def _task(
        self,
        question: Question,
        labelled: dict[str, dict[str, Example]],
        held_ids: dict[str, list[str]],
    ) -> TaskData:
        annotations = labelled[question.instruction]
        kept = set(held_ids[question.instruction])
        examples = [e for doc_id, e in annotations.items() if doc_id not in kept]
        dev = [annotations[d] for d in held_ids[question.instruction]]
        selecting = self.options.select_on_held_out
        return TaskData(question.instruction, question.kind, examples, dev if selecting else ())

    def _choose(
        self,
        proxy: Proxy,
        question: Question,
        pool: Sequence[Document],
        size: int,
        rng: random.Random,
    ) -> list[Document]:
        if size <= 0:
            return []
        explored = rng.sample(list(pool), min(round(size * self.options.explore), len(pool)))
        taken = {d.id for d in explored}
        rest = [d for d in pool if d.id not in taken]
        if size == len(explored) or not rest:
            return explored
        sureness = confidences(proxy, *question.asked(), [d.text for d in rest])
        unsure = sample_uncertain(
            rest,
            sureness,
            size - len(explored),
            seed=self.options.seed,
            backbone=proxy.config.backbone,
        )
        return unsure + explored

    def _round(
        self,
        index: int,
        proxy: Proxy,
        asked: dict[str, int],
        tasks: Sequence[TaskData],
        held_out: dict[str, list[Example]],
        started: float,
    ) -> ActiveRound:
        agreement = {
            q.instruction: held_out_agreement(proxy, q, held_out[q.instruction])
            for q in self.questions
        }
        mean = sum(agreement.values()) / max(len(agreement), 1)
        point = ActiveRound(
            index,
            dict(asked),
            {t.instruction: len(t.examples) for t in tasks},
            agreement,
            round(mean, 4),
            round(time.perf_counter() - started, 1),
        )
        self.log(
            f"round {index}: {sum(point.annotated.values())} annotated, "
            f"held-out agreement {point.mean_agreement:.4f}"
        )
        return point

    def _stop(self, rounds: Sequence[ActiveRound], asked: dict[str, int]) -> str:
        if all(n >= self.options.budget for n in asked.values()):
            return "budget"
        patience = self.options.patience
        if len(rounds) > patience:
            best_before = max(r.mean_agreement for r in rounds[:-patience])
            recent = max(r.mean_agreement for r in rounds[-patience:])
            if recent < best_before + self.options.min_gain:
                return "plateau"
        return ""


def held_out_agreement(proxy: Proxy, question: Question, held_out: Sequence[Example]) -> float:
    """Accuracy on a label question, exact span F1 on a span question (against the
    annotator, not against any gold)."""
    if not held_out:
        return 0.0
    return check_answers(proxy, *question.asked(), held_out).score("accuracy")
