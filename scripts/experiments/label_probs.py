"""Dump the embedded LLM's P(yes) on N docs of a label task plus content-free probes."""
import json, random, sys, time
from falconer.annotator.annotator import Annotator, parse_label
from falconer.bench.tasks import load_task
from falconer.core.documents import Document
from falconer.llm.client import LLMClient
from falconer.llm.cache import ResponseCache, default_cache_path
from falconer.llm.registry import create_backend

task_name, split, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
task = load_task(f"/work/shared/bench/tasks/{task_name}")
pool = list(task.test if split == "test" else task.train)
docs = random.Random(0).sample(pool, min(n, len(pool)))
backend = create_backend("embedded", threads=2, slots=2)
client = LLMClient(backend, cache=ResponseCache(default_cache_path()))
ann = Annotator(client, templates={"label": sys.argv[5]} if len(sys.argv) > 5 else None)
content_free = ["N/A", "", "[MASK]", "text", "..."]
t = time.time()
run = ann.annotate_sync(task.instruction, "label", [Document(f"cf{i}", s or " ") for i, s in enumerate(content_free)])
cf = {a.doc_id: a.probability for a in run.annotations}
run = ann.annotate_sync(task.instruction, "label", [Document(d.id, d.text) for d in docs])
by = {a.doc_id: a.probability for a in run.annotations}
rows = [{"id": d.id, "gold": d.label, "p": by.get(d.id)} for d in docs]
json.dump({"task": task_name, "split": split, "content_free": cf, "rows": rows, "seconds": time.time() - t}, open(out, "w"), indent=1)
print("done", time.time() - t, cf)
