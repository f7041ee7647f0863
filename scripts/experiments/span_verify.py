"""Extract spans with the embedded LLM, then P(yes) of each candidate under a verify template."""
import asyncio, json, random, sys, time
from falconer.annotator.annotator import Annotator, parse_label
from falconer.bench.tasks import load_task
from falconer.core.documents import Document
from falconer.llm.client import LLMClient
from falconer.llm.cache import ResponseCache, default_cache_path
from falconer.llm.registry import create_backend

task_name, split, n, verify, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
task = load_task(f"/work/shared/bench/tasks/{task_name}")
pool = list(task.test if split == "test" else task.train)
docs = random.Random(0).sample(pool, min(n, len(pool)))
backend = create_backend("embedded", threads=2, slots=2)
client = LLMClient(backend, cache=ResponseCache(default_cache_path()))
ann = Annotator(client, templates={"verify": verify})
t = time.time()
run = ann.annotate_sync(task.instruction, "span", [Document(d.id, d.text) for d in docs])
by = {a.doc_id: a for a in run.annotations}
gold = {d.id: {(s.start, s.end) for s in (d.spans or ())} for d in docs}
texts = {d.id: d.text for d in docs}
version = ann.templates["verify"].version

async def check():
    sem = asyncio.Semaphore(2)
    async def one(doc_id, span):
        async with sem:
            a = await client.ask(ann.verify_request(task.instruction, texts[doc_id], span.text), parse_label, template_version=version)
        return {"id": doc_id, "text": span.text, "start": span.start, "end": span.end, "p": a.value[1], "gold": (span.start, span.end) in gold[doc_id]}
    jobs = [one(d, s) for d, a in by.items() for s in (a.spans or ())]
    return await asyncio.gather(*jobs)
cands = asyncio.run(check())
n_gold = sum(len(g) for g in gold.values())
json.dump({"task": task_name, "verify": verify, "n_gold": n_gold, "candidates": cands, "seconds": time.time() - t}, open(out, "w"), indent=1)
print("done", time.time() - t, len(cands), n_gold)
