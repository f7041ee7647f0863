"""The e2e benchmark as a report people would rather look at than read: one self-contained
HTML file (plots inlined as PNG data URIs, no network needed to open it) and a Markdown
summary beside it."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure  # the object API: no pyplot state, no GUI backend

from falconer.core.errors import InputError

COLOURS = {"llm_only": "#c0392b", "falconer": "#2471a3"}


def write_report(results: Sequence[dict[str, Any]], html_path: Path, machine: str) -> Path:
    """`html_path` and a Markdown summary (same name, .md) beside it; returns the latter."""
    html_path.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        "Quality against LLM cost, per task": _quality_vs_cost(results),
        "Quality against the number of annotations": _quality_vs_annotations(results),
        "Throughput of each stage (documents per second, log scale)": _throughput(results),
    }
    body = [f"<h1>Falconer vs LLM-only</h1><p>{html.escape(machine)}</p>"]
    for title, figure in figures.items():
        body.append(
            f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
            f"src='data:image/png;base64,{_png(figure)}'>"
        )
    body.append("<h2>Results</h2>" + _table_html(results))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Falconer e2e</title>"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
        "img{max-width:100%}</style></head><body>" + "".join(body) + "</body></html>"
    )
    html_path.write_text(page, encoding="utf-8")
    markdown = html_path.with_suffix(".md")
    markdown.write_text(summary_markdown(results, machine), encoding="utf-8")
    return markdown


def merge_runs(runs: Sequence[tuple[str, dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    """Several `bench e2e --json` files (name, content) as one: their tasks in order, and
    their distinct machine lines joined, so runs of other tasks or seeds share one report."""
    machines: list[str] = []
    tasks: list[dict[str, Any]] = []
    for name, run in runs:
        if not isinstance(run, dict) or not isinstance(run.get("tasks"), list):
            raise InputError(f"{name}: not a `falconer bench e2e --json` file (no task list)")
        machine = str(run.get("machine", ""))
        if machine and machine not in machines:
            machines.append(machine)
        tasks += run["tasks"]
    if not tasks:
        raise InputError("no e2e results to report")
    return " | ".join(machines), tasks


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _quality_vs_cost(results: Sequence[dict[str, Any]]) -> Figure:
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    for task in results:
        llm = task["llm_only"]
        cost = llm["run"]["usage"].get("execute", {}).get("cost_usd", 0.0)
        axes.scatter(cost, llm["score"]["score"], color=COLOURS["llm_only"], marker="s")
        axes.annotate(task["task"], (cost, llm["score"]["score"]), fontsize=7)
        for run in task["falconer"]:
            usage = run["run"]["usage"]
            spent = sum(usage.get(s, {}).get("cost_usd", 0.0) for s in ("plan", "annotate"))
            axes.scatter(spent, run["score"]["score"], color=COLOURS["falconer"])
            axes.annotate(
                f"{task['task']} n={run['n_annotate']}", (spent, run["score"]["score"]), fontsize=7
            )
    axes.set_xlabel("LLM cost of the run ($, price table)")
    axes.set_ylabel("score against gold")
    axes.scatter([], [], color=COLOURS["llm_only"], marker="s", label="LLM-only")
    axes.scatter([], [], color=COLOURS["falconer"], label="Falconer")
    axes.legend()
    return figure


def _quality_vs_annotations(results: Sequence[dict[str, Any]]) -> Figure:
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    for task in results:
        sizes = [run["n_annotate"] for run in task["falconer"]]
        scores = [run["score"]["score"] for run in task["falconer"]]
        line = axes.plot(sizes, scores, marker="o", label=task["task"])[0]
        axes.axhline(task["llm_only"]["score"]["score"], color=line.get_color(), linestyle=":")
    axes.set_xlabel("annotated documents per step (dotted: LLM-only)")
    axes.set_ylabel("score against gold")
    axes.legend(fontsize=7)
    return figure


def _throughput(results: Sequence[dict[str, Any]]) -> Figure:
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    labels, rates = [], []
    for task in results:
        labels.append(f"{task['task']}\nLLM-only")
        rates.append(task["llm_only"]["run"]["execute_docs_per_second"])
        run = task["falconer"][-1]
        seconds = run["run"]["seconds"]
        for stage in ("annotate", "execute"):
            docs = run["n_annotate"] if stage == "annotate" else task["documents"]
            labels.append(f"{task['task']}\nFalconer {stage}")
            rates.append(docs / seconds[stage] if seconds.get(stage) else 0.0)
    colours = [
        COLOURS["llm_only"] if "LLM-only" in label else COLOURS["falconer"] for label in labels
    ]
    axes.barh(labels, rates, color=colours)
    axes.set_xscale("log")
    axes.set_xlabel("documents per second")
    axes.tick_params(axis="y", labelsize=7)
    return figure


def _rows(results: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for task in results:
        llm = task["llm_only"]
        for run in task["falconer"]:
            projection = run["projection_1m_documents"]
            seed = f" (seed {task['seed']})" if "seed" in task else ""
            rows.append(
                [
                    task["task"] + seed,
                    str(task["documents"]),
                    str(run["n_annotate"]),
                    settings(task),
                    f"{llm['score']['score']:.3f}",
                    f"{run['score']['score']:.3f}",
                    _ratio(run["score"]["score"], llm["score"]["score"]),
                    _unannotated_ratio(run),
                    _agreement(run["agreement_with_llm_only"]),
                    f"{llm['run']['execute_docs_per_second']:.2f}",
                    f"{run['run']['execute_docs_per_second']:.1f}",
                    f"{run['execute_speedup']:.0f}x" if run["execute_speedup"] else "-",
                    f"{projection['speedup']:.0f}x",
                ]
            )
    return rows


def settings(task: dict[str, Any]) -> str:
    """What Falconer ran this task with beyond plain annotation: tasks of one suite differ,
    and a ratio means little without them."""
    options = task.get("options", {})
    parts = []
    if task.get("active"):
        rounds = f" {options['active_start']}+{options['active_step']}" if options else ""
        parts.append(f"active{rounds}")
    if task.get("distil_from"):
        parts.append(f"taught by {task['distil_from']}")
    if task.get("span_type"):
        parts.append(f"{task['span_type']} spans")
    if task.get("backbone", "default") != "default":
        parts.append(f"backbone {task['backbone']}")
    return ", ".join(parts) or "-"


def _ratio(falconer: float, llm_only: float) -> str:
    """Undefined when LLM-only scored nothing (e.g. it answered no to every document)."""
    return f"{falconer / llm_only:.2f}" if llm_only > 0 else "n/a"


def _unannotated_ratio(run: dict[str, Any]) -> str:
    """The ratio on the documents no step annotated (results written before it: '-')."""
    unseen = run.get("unannotated")
    if not unseen:
        return "-"
    ratio = _ratio(unseen["score"]["score"], unseen["llm_only_score"]["score"])
    return f"{ratio} ({unseen['documents']} docs)"


def _agreement(scores: dict[str, Any]) -> str:
    """The metric, and for spans the share of documents with exactly the same answer: two
    runs that both find nothing have F1 0 but answer alike everywhere."""
    cell = f"{scores['score']:.3f}"
    if "same_answer_share" in scores:
        cell += f" (same {scores['same_answer_share']:.2f})"
    return cell


HEADER = [
    "task",
    "docs",
    "N",
    "settings",
    "LLM-only score",
    "Falconer score",
    "ratio",
    "ratio, unannotated docs",
    "agreement",
    "LLM docs/s",
    "proxy docs/s",
    "execute speedup",
    "1M-doc speedup*",
]


def _table_html(results: Sequence[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in _rows(results)
    )
    note = "<p>* projected from the rates measured in this run, not measured.</p>"
    return f"<table><tr>{head}</tr>{body}</table>{note}"


def summary_markdown(results: Sequence[dict[str, Any]], machine: str) -> str:
    lines = [
        "# Falconer vs LLM-only",
        "",
        machine,
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    lines += [
        "",
        "\\* projected to 1M documents from the rates measured in this run, not measured.",
        "",
    ]
    return "\n".join(lines)
