"""Hard vs soft (LLM P(yes)) label targets on the sst2 annotations of a `falconer bench e2e`
run (--workdir /work/e2e-run/work). Usage: python soft_labels_sst2.py soft|hard 0,1,2"""
import json, random, sys
import pandas as pd
from falconer.annotator.records import load_run
from falconer.core.tasks import TaskData
from falconer.proxy import Proxy, TrainConfig
from falconer.core.metrics import score_labels

root = "/work/e2e-run/work/sst2-positive"
run = load_run(f"{root}/falconer-n100/annotations/s1.jsonl")
examples = [a.example() for a in run.annotations]
random.Random(0).shuffle(examples)
train = examples[25:]
annotated = {a.doc_id for a in run.annotations}
llm = pd.read_parquet(f"{root}/llm-only/results.parquet")
llm = {r.doc_id: bool(r.value) for r in llm.itertuples()}
corpus = [json.loads(l) for l in open(f"{root}/corpus.jsonl")]
unseen = [d for d in corpus if d["id"] not in annotated]
test = [json.loads(l) for l in open("/work/shared/bench/tasks/sst2-positive/test.jsonl")]
instr = "Is this movie review positive?"
out = []
for seed in [int(x) for x in sys.argv[2].split(",")]:
    soft = sys.argv[1] == "soft"
    proxy = Proxy.from_pretrained("default", threads=1)
    proxy.fit([TaskData(instr, "label", train)], config=TrainConfig(seed=seed, threads=1, soft_labels=soft))
    pred = proxy.get_label([d["text"] for d in unseen], instr)
    agree = sum(p.value == llm[d["id"]] for p, d in zip(pred, unseen)) / len(unseen)
    tp = proxy.get_label([d["text"] for d in test], instr)
    acc = score_labels([p.value for p in tp], [bool(d["label"]) for d in test]).accuracy
    row = {"soft": soft, "seed": seed, "agree_unseen": round(agree, 4), "n_unseen": len(unseen), "test_acc": round(acc, 4)}
    print(row, flush=True)
    out.append(row)
json.dump(out, open(f"/work/exp/soft-{sys.argv[1]}-{sys.argv[2]}.json", "w"))
