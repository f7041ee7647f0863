"""The run report: what was planned, annotated and learnt, how well the proxy agrees with the
LLM, what the LLM cost and how fast each stage ran. Saved as JSON and as Markdown."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from falconer.engine.sinks import write_atomically

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
_USAGE_FIELDS = (
    "calls",
    "cache_hits",
    "retries",
    "repairs",
    "failures",
    "prompt_tokens",
    "completion_tokens",
    "seconds",
    "cost_usd",
)


@dataclass
class RunReport:
    mode: str  # "mine", "llm-only" or "apply"
    corpus: str
    plan: dict[str, Any]
    instruction: str | None = None
    llm: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    usage: dict[str, dict[str, float]] = field(default_factory=dict)
    execute: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    learning_curve: list[dict[str, Any]] = field(default_factory=list)  # active annotation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, folder: Path) -> dict[str, str]:
        self.outputs["report"] = str(folder / REPORT_JSON)
        self.outputs["report_markdown"] = str(folder / REPORT_MD)
        write_atomically(folder / REPORT_JSON, json.dumps(self.to_dict(), indent=2))
        write_atomically(folder / REPORT_MD, self.markdown())
        return self.outputs

    def markdown(self) -> str:
        lines = [f"# Falconer run ({self.mode})", ""]
        if self.instruction:
            lines += [f"Instruction: {self.instruction}", ""]
        lines += [f"Corpus: `{self.corpus}`", f"LLM: {self.llm or 'none'}", ""]
        lines += ["## Plan", "", "```json", json.dumps(self.plan, indent=2), "```", ""]
        if self.steps:
            lines += [
                "## Steps",
                "",
                "| step | op | annotated | failed | held out | proxy vs LLM |",
                "|---|---|---|---|---|---|",
            ]
            for step in self.steps:
                agreement = ", ".join(f"{k} {v:.3f}" for k, v in step.get("agreement", {}).items())
                lines.append(
                    f"| {step['id']} | {step['op']} | {step.get('annotated', '-')} | "
                    f"{step.get('failed', '-')} | {step.get('held_out', '-')} | "
                    f"{agreement or '-'} |"
                )
            lines.append("")
            thresholds = [
                f"{step['id']} lets documents through the filter at P(yes) >= "
                f"{step['filter_threshold']:.3f}, the threshold with the best expected F1 of "
                "what it passes on unannotated corpus texts."
                for step in self.steps
                if "filter_threshold" in step
            ]
            lines += [*thresholds, ""] if thresholds else []
        lines += self._curve_lines()
        lines += self._cascade_lines()
        lines += [
            "## Cost and time",
            "",
            "| stage | seconds | LLM calls | tokens | $ |",
            "|---|---|---|---|---|",
        ]
        for stage, seconds in self.seconds.items():
            usage = self.usage.get(stage, {})
            tokens = int(usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
            lines.append(
                f"| {stage} | {seconds:.1f} | {int(usage.get('calls', 0))} | {tokens} | "
                f"{usage.get('cost_usd', 0.0):.4f} |"
            )
        lines.append("")
        if self.execute:
            run = self.execute
            reasons = reject_reasons_text(run.get("reject_reasons", {}))
            lines += [
                "## Execution",
                "",
                f"{run['documents']} documents read, {run['rejected']} rejected "
                f"({reasons}), {run['kept']} kept by the "
                f"filter, {run['rows']} result rows, {run['docs_per_second']} documents/s "
                f"({run['model']}{_served_by(run.get('runtime'))}).",
                "",
            ]
            asked = ", ".join(f"{k}: {v}" for k, v in run.get("asked", {}).items())
            lines += [f"Documents asked per step: {asked}.", ""]
        lines += ["## Outputs", ""] + [f"- {name}: `{path}`" for name, path in self.outputs.items()]
        return "\n".join(lines) + "\n"

    def _cascade_lines(self) -> list[str]:
        """What the cascade expected on held-out annotations, beside what it did."""
        steps = [step for step in self.steps if "cascade" in step]
        if not steps:
            return []
        lines = [
            "## Cascade",
            "",
            "Estimated on the held-out annotations: agreement with an LLM-only run (95% "
            "interval) and the share deferred, at the threshold the target asks for and, where "
            "the budget lowers it, at the one that ran.",
            "",
            "| step | held out | at target threshold | certified | within budget | "
            "deferred to LLM | unsure, over budget |",
            "|---|---|---|---|---|---|---|",
        ]
        for step in steps:
            c = step["cascade"]
            within = _estimate(c["within_budget"]) if "within_budget" in c else "-"
            lines.append(
                f"| {step['id']} | {c['held_out']} | {_estimate(c)} | "
                f"{'yes' if c.get('certified') else 'no'} | {within} | "
                f"{c.get('deferred_to_llm', '-')} | {c.get('unsure_over_budget', '-')} |"
            )
        budget = steps[0]["cascade"].get("budget")
        if budget is not None:
            lines += [
                "",
                f"LLM budget: {budget['limit']} {budget['unit']} ({budget.get('spent', '-')} "
                "spent), the least sure of all steps first; a document the LLM answered one "
                "step of gets every later step from it.",
            ]
        ran = [step["cascade"].get("within_budget", step["cascade"]) for step in steps]
        if not all(threshold.get("certified") for threshold in ran):
            lines += [
                "",
                "Not certified: the held-out annotations cannot show that the target is "
                "reached; annotate more for a tighter interval.",
            ]
        return [*lines, ""]

    def _curve_lines(self) -> list[str]:
        rounds = [r for r in self.learning_curve if "round" in r]
        if not rounds:
            return []
        lines = [
            "## Active annotation: learning curve",
            "",
            "| round | annotated | trained on | held-out agreement | seconds |",
            "|---|---|---|---|---|",
        ]
        for r in rounds:
            annotated = sum(r["annotated"].values())
            trained = sum(r["trained_on"].values())
            lines.append(
                f"| {r['round']} | {annotated} | {trained} | {r['mean_agreement']:.3f} | "
                f"{r['seconds']:.0f} |"
            )
        stopped = next((r["stopped"] for r in self.learning_curve if "stopped" in r), "-")
        return [*lines, "", f"Stopped: {stopped}.", ""]


def reject_reasons_text(counts: Mapping[str, int]) -> str:
    """Why records were rejected, by kind, commonest first: "duplicate id: 200, empty text: 3"."""
    commonest = Counter(counts).most_common()
    return ", ".join(f"{reason}: {count}" for reason, count in commonest) or "none"


def total_usage(reports: Iterable[Mapping[str, Mapping[str, Any]]]) -> dict[str, float]:
    """Sum the per-stage usage reports of several LLM clients into one row."""
    total = dict.fromkeys(_USAGE_FIELDS, 0.0)
    for report in reports:
        for usage in report.values():
            for name in _USAGE_FIELDS:
                total[name] += float(usage.get(name, 0))
    return {name: round(value, 6) for name, value in total.items()}


def _estimate(threshold: Mapping[str, Any]) -> str:
    low, high = threshold["interval"]
    return (
        f"{threshold['estimated_agreement']:.3f} ({low:.3f}-{high:.3f}), "
        f"{threshold['deferred_share']:.0%} deferred"
    )


def _served_by(runtime: Mapping[str, Any] | None) -> str:
    """Which runtime ran the proxy, and why when the one asked for was refused or `auto` left
    the corpus to PyTorch unchecked."""
    if not runtime:
        return ""
    if runtime.get("used"):
        unchecked_auto = runtime.get("asked") == "auto" and not runtime.get("checked", True)
        return f" on {runtime['runtime']}" + (f" ({runtime['reason']})" if unchecked_auto else "")
    return f" on torch: {runtime['runtime']} refused, {runtime.get('reason', '')}"
