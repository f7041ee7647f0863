"""`apply`: a finished run's plan and proxy over another corpus, with no LLM involved."""

from __future__ import annotations

import json
import time
from pathlib import Path

from falconer.core.callbacks import Progress
from falconer.core.errors import InputError
from falconer.engine.acceleration import (
    accelerate_for,
    check_runtime,
    resolve_runtime,
    served_runtime,
    torch_as_asked,
)
from falconer.engine.corpus import Corpus
from falconer.engine.execution import Execution
from falconer.engine.ray_engine import RayOptions, execute_on_ray
from falconer.engine.report import RunReport
from falconer.engine.run_folder import (
    ONNX_DIR,
    PLAN_FILE,
    PROXY_DIR,
    TRAINING_FILE,
    locked_run_folder,
    recorded_fingerprint,
    runtime_part,
)
from falconer.plan.schema import Plan
from falconer.proxy import Proxy


def apply_run(
    run_dir: Path,
    corpus: Corpus,
    output: Path,
    *,
    output_format: str = "parquet",
    batch_size: int = 256,
    restart: bool = False,
    threads: int | None = None,
    progress: Progress | None = None,
    ray: RayOptions | None = None,
    runtime: str = "auto",
) -> RunReport:
    """Run a finished run's plan with its proxy over another corpus: no LLM involved;
    `ray` options run it on Ray Data instead of in this process."""
    check_runtime(runtime)
    plan_path, proxy_path = run_dir / PLAN_FILE, run_dir / PROXY_DIR
    if not plan_path.is_file() or not Proxy.is_saved(proxy_path):
        raise InputError(
            f"{run_dir} is not a finished run folder (needs {PLAN_FILE} and {PROXY_DIR}/)"
        )
    plan = Plan.from_json(plan_path.read_text())
    with locked_run_folder(output, corpus.path):
        started = time.perf_counter()
        if ray is not None and resolve_runtime(runtime) == "torch":  # the actors load it
            acceleration = torch_as_asked()
            execution = execute_on_ray(plan, proxy_path, corpus, output, ray)
        else:
            proxy = Proxy.from_pretrained(proxy_path, threads=threads)
            acceleration = accelerate_for(proxy, plan, corpus, output / ONNX_DIR, runtime)
            if ray is not None:  # checked once here, rebuilt by every actor
                served = served_runtime(proxy)
                execution = execute_on_ray(plan, proxy_path, corpus, output, ray, served)
            else:
                fingerprint = recorded_fingerprint(run_dir / TRAINING_FILE)
                identity = json.dumps({"proxy": fingerprint} | runtime_part(proxy), sort_keys=True)
                execution = Execution(
                    plan, proxy, corpus, output, output_format, batch_size, restart, progress,
                    identity,
                ).run()  # fmt: skip
        report = RunReport(
            "apply",
            str(corpus.path),
            plan.to_neutral(),
            seconds={"execute": time.perf_counter() - started},
            execute=execution.to_dict() | {"runtime": acceleration},
        )
        report.outputs = {
            "results": execution.results,
            "rejects": execution.rejects,
            "plan": str(plan_path),
            "proxy": str(proxy_path),
        }
        report.save(output)
        return report
