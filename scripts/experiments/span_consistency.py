"""One surface string, one answer: corpus-level consistency of span answers (not kept).

Why: a span proxy reads each text alone, so ncbi's shipped proxy answers "deficiency",
"syndrome" or "A -" alone in some abstracts while the annotations only ever mark them inside
a longer name, and finds a disease in one abstract that it misses in the next. Counting how
often each answered string is answered where it occurs (word-bounded) lets the majority decide:
a string answered at >= ADD_AT of its occurrences (>= MIN_ANSWERS answers) is answered at the
others too, one answered at < DROP_BELOW of >= MIN_OCCURRENCES occurrences is dropped.
The thresholds were chosen on seed 0's test answers (2026-12-06); seeds 1-2 check them.

Two places to apply it, both measured here on dumps of the shipped one-task bench fit:
- `corpus`: after the proxy has answered the whole corpus (test + the unannotated train pool),
  a second pass revises every answer; at run time that is a second pass over the corpus.
- `lexicon`: shares counted on the pool's answers plus the annotations alone, applied to each
  test text by itself (what a proxy could save with its weights).
A third place, the step teacher's answers before the student learns them, needs code in
proxy.distillation: scripts/experiments/consistent_teacher_answers.patch.

Usage: python span_consistency.py dump --task DIR --seed S --out FILE.jsonl [--backbone DIR]
       python span_consistency.py score FILE.jsonl ... [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from falconer.core.metrics import score_spans
from falconer.core.spans import Span

ADD_AT, MIN_ANSWERS, DROP_BELOW, MIN_OCCURRENCES = 0.5, 2, 0.2, 3
Interval = tuple[int, int]
Row = dict[str, Any]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dump_parser = commands.add_parser("dump", help="fit the bench proxy and dump its answers")
    dump_parser.add_argument("--task", type=Path, required=True)
    dump_parser.add_argument("--seed", type=int, default=0)
    dump_parser.add_argument("--backbone", default="default")
    dump_parser.add_argument("--out", type=Path, required=True)
    score_parser = commands.add_parser("score", help="test F1 before and after each variant")
    score_parser.add_argument("dumps", type=Path, nargs="+")
    score_parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.task, args.seed, args.backbone, args.out)
    else:
        rows = [score(path) for path in args.dumps]
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1) + "\n")


def dump(task_dir: Path, seed: int, backbone: str, out: Path) -> None:
    """The shipped one-task fit's answers on test, the unannotated pool and the annotations."""
    from falconer.bench.proxy_bench import ProxyBench
    from falconer.bench.tasks import load_task

    task = load_task(task_dir)
    bench = ProxyBench(tasks=[task], n=256, seeds=[seed], backbone=backbone)
    proxy, _, _ = bench._train([task], seed, backbone)
    annotated, pool = task.sample(256, seed)
    with out.open("w") as sink:
        for split, docs in (("test", task.test), ("pool", pool), ("annotated", annotated)):
            answers = proxy.get_span([d.text for d in docs], task.instruction)
            for doc, answer in zip(docs, answers, strict=True):
                row = {
                    "split": split,
                    "text": doc.text,
                    "gold": [[s.start, s.end] for s in doc.spans or ()],
                    "pred": [[s.start, s.end] for s in answer.spans],
                }
                sink.write(json.dumps(row) + "\n")


def score(path: Path) -> Row:
    rows = [json.loads(line) for line in path.open()]
    test = [r for r in rows if r["split"] == "test"]
    pool = [r for r in rows if r["split"] == "pool"]
    evidence = [(r["text"], r["gold"]) for r in rows if r["split"] == "annotated"]
    answers = [[tuple(p[:2]) for p in r["pred"]] for r in test]
    found = {
        "raw": answers,
        "corpus": corpus_pass(test + pool)[: len(test)],
        "lexicon": lexicon_pass(test, [(r["text"], r["pred"]) for r in pool] + evidence),
    }
    result = {"dump": path.name, **{k: round(exact_f1(test, v), 4) for k, v in found.items()}}
    print(result, flush=True)
    return result


def corpus_pass(docs: Sequence[Row]) -> list[list[Interval]]:
    """Every answer revised by the shares over `docs` themselves."""
    answered, seen = _shares([(d["text"], d["pred"]) for d in docs])
    adds: dict[int, list[Interval]] = defaultdict(list)
    drops: set[tuple[int, Interval]] = set()
    for string, count in answered.items():
        places = seen[string]
        if len(places) >= MIN_OCCURRENCES and count / len(places) < DROP_BELOW:
            drops.update(places)
        elif count >= MIN_ANSWERS and places and count / len(places) >= ADD_AT:
            for index, interval in places:
                adds[index].append(interval)
    revised = []
    for index, doc in enumerate(docs):
        kept = [tuple(p[:2]) for p in doc["pred"] if (index, tuple(p[:2])) not in drops]
        revised.append(_with_additions(kept, adds[index]))
    return revised


def lexicon_pass(
    test: Sequence[Row], counted: Sequence[tuple[str, list[Any]]]
) -> list[list[Interval]]:
    """Each test text's answers revised by shares counted elsewhere, the text alone."""
    answered, seen = _shares(counted)
    share = {s: answered[s] / len(seen[s]) for s in answered if seen[s]}
    added = [s for s, n in answered.items() if n >= MIN_ANSWERS and share.get(s, 0) >= ADD_AT]
    revised = []
    for doc in test:
        text = doc["text"]
        kept = [
            tuple(p[:2])
            for p in doc["pred"]
            if not (
                len(seen[text[p[0] : p[1]]]) >= MIN_OCCURRENCES
                and share.get(text[p[0] : p[1]], 1.0) < DROP_BELOW
            )
        ]
        places = [interval for s in added if s in text for interval in _occurrences(text, s)]
        revised.append(_with_additions(kept, places))
    return revised


def _shares(
    docs: Sequence[tuple[str, list[Any]]],
) -> tuple[Counter[str], dict[str, list[tuple[int, Interval]]]]:
    """How often each answered string is answered, and where it occurs (text index, interval)."""
    answered = Counter(text[p[0] : p[1]] for text, found in docs for p in found)
    seen: dict[str, list[tuple[int, Interval]]] = defaultdict(list)
    for string in answered:
        if string.strip():
            for index, (text, _) in enumerate(docs):
                if string in text:
                    seen[string] += [(index, o) for o in _occurrences(text, string)]
    return answered, seen


def _occurrences(text: str, string: str) -> list[Interval]:
    pattern = r"(?<!\w)" + re.escape(string) + r"(?!\w)"
    return [m.span() for m in re.finditer(pattern, text)]


def _with_additions(kept: list[Any], additions: Iterable[Interval]) -> list[Interval]:
    for start, end in additions:
        if not any(s < end and start < e for s, e in kept):
            kept.append((start, end))
    return kept


def exact_f1(test: Sequence[Row], found: Sequence[Sequence[Interval]]) -> float:
    def spans(doc: Row, intervals: Iterable[Sequence[int]]) -> list[Span]:
        return [Span.of(doc["text"], start, end) for start, end, *_ in intervals]

    predicted = [spans(doc, answer) for doc, answer in zip(test, found, strict=True)]
    return score_spans(predicted, [spans(doc, doc["gold"]) for doc in test]).f1


if __name__ == "__main__":
    main()
