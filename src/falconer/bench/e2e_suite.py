"""A suite file for `falconer bench e2e --suite`: several tasks in one run, each with the
settings it needs (a span type for people, a teacher for sentiment, active annotation for a
rare filter), so a claim over several tasks stays one command anyone can rerun.

```toml
[[tasks]]
path = "../shared/bench/tasks/conll-persons"   # relative to this file
annotate = 100
max_docs = 200
span_type = "person"
distil_from = "mpnet"
```

The seed, LLM, annotator, cache, threads and runtime stay the command's: one run, one seed,
one machine for every task.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from falconer.bench.e2e_bench import E2EOptions
from falconer.core.errors import InputError


class _SuiteTask(BaseModel):
    """One task's entry: its folder and what it sets apart from the command's options."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    annotate: list[int] | int | None = None
    max_docs: int | None = Field(None, ge=1)
    reference_plan: bool | None = None
    min_steps: int | None = Field(None, ge=1)
    backbone: str | None = None
    distil_from: str | None = None
    active: bool | None = None
    active_start: int | None = Field(None, ge=8)
    active_step: int | None = Field(None, ge=1)
    span_type: str | None = None


class _Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[_SuiteTask] = Field(min_length=1)


@dataclass(frozen=True)
class SuiteTask:
    """A task folder, the annotation sizes to run it at, and its options."""

    folder: Path
    sizes: tuple[int, ...]
    options: E2EOptions


def load_suite(path: Path, base: E2EOptions, sizes: tuple[int, ...]) -> list[SuiteTask]:
    """The suite's tasks over the command's options (`base`, `sizes`); task paths are
    relative to the suite file, so a committed suite runs from any working directory."""
    try:
        suite = _Suite.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except OSError as error:
        raise InputError(f"cannot read the suite {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path} is not TOML: {error}") from None
    except ValidationError as error:
        raise InputError(f"{path} is not an e2e suite: {_first_problem(error)}") from None
    return [_suite_task(path.parent, entry, base, sizes) for entry in suite.tasks]


def _suite_task(
    root: Path, entry: _SuiteTask, base: E2EOptions, sizes: tuple[int, ...]
) -> SuiteTask:
    folder = entry.path if entry.path.is_absolute() else root / entry.path
    if not (folder / "task.json").is_file():
        raise InputError(f"suite task {entry.path} ({folder}) has no task.json")
    overrides = entry.model_dump(exclude={"path", "annotate"}, exclude_none=True)
    annotate = entry.annotate
    if annotate is not None:
        sizes = tuple(annotate) if isinstance(annotate, list) else (annotate,)
    if any(size < 4 for size in sizes):
        raise InputError(f"suite task {entry.path}: annotate sizes must be >= 4, not {sizes}")
    return SuiteTask(folder, sizes, dataclasses.replace(base, **overrides))


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}"
