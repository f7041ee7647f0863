"""Can single-task proxies teach the multitask one what it loses on the yes/no steps? Over
five tasks the multitask proxy stays 3.3 (sst2) and 2.5 (agnews) points under single-task
fits on the same labels (seeds 0-4), and no change to its loss, batches, gradients, head or
top layers closed that. Born-again multitask networks (Clark et al. 2019, "BAM!") distil
single-task teachers into the multitask student instead. Here each yes/no step gets a
single-task MiniLM proxy fitted on its own annotations (exactly the single-task fit of `bench
proxy` at that seed, so its test score is the paired single-task score), which answers up to
`--distil-pool` of the step's unlabelled train texts (P(yes) as soft targets, as
`proxy/distillation.py` does for a wider teacher); span steps are left as they are (they are
within the bound). The multitask student learns from the annotations plus those answers.

Runs `falconer bench proxy` with all its other arguments and `ProxyBench._teach` patched;
pass `--multitask --distil-from default --distil-pool P`.

Usage: python single_task_teachers.py --task DIR ... --multitask --distil-from default
       --distil-pool 1000 --seed S --json OUT
"""

from collections.abc import Sequence
from typing import Any

from falconer.bench.proxy_bench import ProxyBench
from falconer.bench.tasks import BenchTask
from falconer.cli.app import app
from falconer.core.tasks import TaskData
from falconer.proxy.checks import check_answers
from falconer.proxy.config import TrainConfig
from falconer.proxy.distillation import taught_tasks
from falconer.proxy.proxy import Proxy


def teach_with_single_task_teachers(
    self: ProxyBench,
    backbone: str,
    tasks: Sequence[BenchTask],
    data: list[TaskData],
    unlabeled: dict[str, list[str]],
    config: TrainConfig,
) -> tuple[list[TaskData], dict[str, Any]]:
    taught: list[TaskData] = []
    scores: dict[str, float] = {}
    lessons: dict[str, dict[str, Any]] = {}
    for task, task_data in zip(tasks, data, strict=True):
        if task.kind != "label":
            taught.append(task_data)
            continue
        self.log(f"  single-task teacher for {task.name}")
        teacher = Proxy.from_pretrained(backbone, threads=self.threads)
        teacher.fit([task_data], config=config, progress=self.progress)
        texts = unlabeled[task.instruction][: self.distil_pool]
        (with_answers,), (lesson,) = taught_tasks(teacher, [task_data], texts, self.progress)
        taught.append(with_answers)
        expected = [d.example() for d in self._test_docs(task)]
        check = check_answers(teacher, task.instruction, task.kind, expected)
        scores[task.name] = check.score(task.metric)
        lessons[task.name] = lesson.to_dict()
        self.log(f"  single-task teacher on {task.name} test: {scores[task.name]:.4f}")
    return taught, {"backbone": f"single-task {backbone}", "scores": scores, "taught": lessons}


ProxyBench._teach = teach_with_single_task_teachers  # type: ignore[method-assign]

if __name__ == "__main__":
    import sys

    app(["bench", "proxy", *sys.argv[1:]])
