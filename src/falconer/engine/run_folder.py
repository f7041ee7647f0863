"""What a run folder holds, and the records that let a rerun reuse it.

`mine` leaves each stage's product in its folder; a rerun (after a crash, an interruption or
a changed option) reuses a product only when what it was made from is unchanged: an
annotation run of the same step over the same sample, a proxy whose fingerprint (backbone,
training config, training data) matches the one recorded beside it. `apply` reads the plan
and proxy of a finished run from the same places.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from falconer.annotator.records import AnnotationRun, load_run
from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.core.tasks import Example, TaskData
from falconer.engine.executor import Answerer
from falconer.engine.sinks import write_atomically
from falconer.plan.schema import Step
from falconer.proxy import Proxy
from falconer.proxy.training import FEW_EXAMPLES_RATE

PLAN_FILE = "plan.json"
PROXY_DIR = "proxy"
ONNX_DIR = "onnx"  # the exported graph the execute stage may run on
TRAINING_FILE = "training.json"
TEACHER_DIR = "teacher"  # the larger-backbone proxy of a distilled run
TEACHER_TRAINING_FILE = "teacher-training.json"
STEP_TEACHERS_DIR = "step-teachers"  # each step fitted alone, one folder per step
ANNOTATIONS_DIR = "annotations"


def make_run_folder(folder: Path, corpus: Path) -> Path:
    """Create `folder` (a run's output) unless it exists; a path that names a file, or runs
    through one, is an InputError before any work, not an OS error after the LLM's. So is a
    folder inside the corpus folder: the corpus would read the run's own results (and its
    changed files would refuse every resume)."""
    if corpus.is_dir() and folder.resolve().is_relative_to(corpus.resolve()):
        raise InputError(
            f"output folder {folder} lies inside the corpus folder {corpus}, which would read "
            "the run's own files as documents: write it elsewhere"
        )
    blocking = file_in_the_way(folder)
    if blocking == folder:
        raise InputError(f"output folder {folder} is a file")
    if blocking is not None:
        raise InputError(f"output folder {folder}: {blocking} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def file_in_the_way(path: Path) -> Path | None:
    """`path` itself or the nearest folder above it if it exists as a file, where a folder is
    needed: what makes creating `path` (or a file in it) fail."""
    return next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)


LOCK_FILE = ".falconer.lock"


@contextlib.contextmanager
def locked_run_folder(folder: Path, corpus: Path) -> Iterator[Path]:
    """`make_run_folder`, held by this process until the block ends: a second `mine` or
    `apply` started on the same folder (a second terminal, an overlapping cron job) would
    interleave its writes with this one's. The lock is the kernel's, so a crashed or killed
    run leaves none behind to clear."""
    make_run_folder(folder, corpus)
    with (folder / LOCK_FILE).open("a+", encoding="utf-8") as lock:
        if not _try_lock(lock):
            lock.seek(0)
            holder = lock.read().strip() or "?"
            raise InputError(
                f"{folder} is in use by another falconer run (pid {holder}): wait for it to "
                "end, or write to another folder"
            )
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield folder  # closing the file releases the lock


if sys.platform == "win32":  # no flock: runs there are not kept apart

    def _try_lock(lock: IO[str]) -> bool:
        return True

else:
    import fcntl

    def _try_lock(lock: IO[str]) -> bool:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def reusable_run(path: Path, step: Step, sample: Sequence[Document]) -> AnnotationRun | None:
    """A saved annotation run of this very step over this very sample, if there is one, with
    the LLM usage and seconds it cost when it was made (`save_run_cost`)."""
    if not path.is_file():
        return None
    try:
        run = load_run(path)
    except (InputError, ValueError, KeyError):
        return None
    ids = sorted([a.doc_id for a in run.annotations] + [f.doc_id for f in run.failures])
    fits = run.instruction == step.instruction and run.kind == step.kind
    typed = {a.provenance.span_type for a in run.annotations}
    fits = fits and typed <= {step.span_type}  # a type added or changed since: annotate again
    if not (fits and ids == sorted(d.id for d in sample)):
        return None
    cost = _cost_file(path)
    if cost.is_file():
        recorded = json.loads(cost.read_text())
        run.usage, run.seconds = recorded["usage"], float(recorded["seconds"])
    return run


def save_run_cost(run: AnnotationRun, path: Path) -> None:
    """Beside an annotation run, what it cost: a rerun that reuses the run (after a crash,
    say) reports the LLM calls, tokens and dollars that made it, not zero, and a cascade's
    dollar budget is priced from them."""
    cost = {"usage": run.usage, "seconds": round(run.seconds, 3)}
    write_atomically(_cost_file(path), json.dumps(cost, indent=2) + "\n")


def _cost_file(path: Path) -> Path:
    return path.with_name(f"{path.stem}.cost.json")


def fingerprint(
    backbone: str,
    config: dict[str, Any],
    tasks: Sequence[TaskData],
    unannotated: Mapping[str, Sequence[str]],
) -> str:
    """Everything a fit depends on, hashed: a proxy recorded with the same one is reused."""
    material: list[Any] = [backbone, config, sorted((k, list(v)) for k, v in unannotated.items())]
    for task in tasks:
        # a given dev slice (active annotation's held-out one) is training data too
        dev = [_example_key(e) for e in task.dev]
        examples = [_example_key(e) for e in task.examples]
        material.append([task.instruction, task.kind, examples, *([dev] if dev else [])])
    return hashlib.sha256(json.dumps(material, default=str).encode()).hexdigest()


def recorded_fingerprint(record: Path) -> str | None:
    if not record.is_file():
        return None
    return str(json.loads(record.read_text()).get("fingerprint"))


def recorded_learning_rate(record: Path) -> float:
    """The encoder's learning rate of a recorded fit; fits recorded before it was written
    down ran at the default of their data, at most `FEW_EXAMPLES_RATE`."""
    report = json.loads(record.read_text(encoding="utf-8")).get("report", {})
    return float(report.get("learning_rate") or FEW_EXAMPLES_RATE)


def runtime_part(proxy: Answerer) -> dict[str, str]:
    """Which runtime serves the proxy, for the checkpoint key (PyTorch, the default, adds
    nothing: its answers are the reference the others are checked against)."""
    name = proxy.runtime.name if isinstance(proxy, Proxy) else "torch"
    return {} if name == "torch" else {"runtime": name}


def _example_key(example: Example) -> list[Any]:
    key = [example.text, example.label, [list(s.key) for s in example.spans or ()]]
    return key if example.probability is None else [*key, example.probability]
