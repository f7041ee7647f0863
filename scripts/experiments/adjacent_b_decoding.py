"""Do proxies split names they find? The typed persons e2e proxy (75 LLM-annotated sentences)
tagged "Sun Jun" B B (two spans, both wrong), "Aung San Suu Kyi" B B I I, while none of its
training annotations had two spans side by side. Here a run's proxy answers its corpus again,
decoded as before 630da48 (`shipped` in the output rows) and as since (`joined`: a B-tagged word
right after a span word, with only whitespace between, continues that span when its I
outweighs its O). Scored against gold over all documents and the unannotated ones.

Usage: python adjacent_b_decoding.py TASK_DIR E2E_TASK_FOLDER [N_ANNOTATE]
   or: python adjacent_b_decoding.py TASK_DIR --proxy PROXY_DIR (the test split)
   or: python adjacent_b_decoding.py TASK_DIR --oracle SEED (fits on 256 gold labels as
       `bench proxy` does, saves the proxy under runs/, then the test split)
"""

import json
import sys
from pathlib import Path

import numpy as np

from falconer.bench.e2e_bench import annotated_ids
from falconer.bench.run_scoring import Answers, compare, gold_answers
from falconer.bench.tasks import load_task
from falconer.core.spans import Span
from falconer.engine.report import REPORT_JSON
from falconer.engine.run_folder import PROXY_DIR
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.decoding import decode_spans, merge_word_probabilities
from falconer.proxy.encoding import TAG_B, TAG_I, TAG_O, EncodedDoc
from falconer.proxy.inference import predict_texts

task_dir = Path(sys.argv[1])
ids, gold = gold_answers(task_dir)
texts = {
    json.loads(line)["id"]: json.loads(line)["text"] for line in (task_dir / "test.jsonl").open()
}
if sys.argv[2] in ("--proxy", "--oracle"):
    proxy_dir, unseen = Path(sys.argv[3]), list(ids)
    instruction = json.loads((task_dir / "task.json").read_text())["instruction"]
if sys.argv[2] == "--oracle":
    seed = int(sys.argv[3])
    task = load_task(task_dir)
    annotated, _ = task.sample(256, seed)
    fitted = Proxy.from_pretrained("default", threads=2)
    fitted.fit([task.task_data(annotated)], config=TrainConfig(seed=seed, threads=2))
    proxy_dir = fitted.save_pretrained(Path("runs") / f"oracle-{task.name}-n256-seed{seed}")
else:
    folder = Path(sys.argv[2])
    run_dir = folder / f"falconer-n{sys.argv[3] if len(sys.argv) > 3 else 100}"
    corpus = {json.loads(line)["id"] for line in (folder / "corpus.jsonl").open()}
    ids = [i for i in ids if i in corpus]
    unseen = [i for i in ids if i not in annotated_ids(run_dir)]
    proxy_dir = run_dir / PROXY_DIR
    instruction = json.loads((run_dir / REPORT_JSON).read_text())["plan"]["steps"][0]["instruction"]


def decode(
    text: str, doc: EncodedDoc, words: list[int], probabilities: np.ndarray, joined: bool
) -> list[Span]:
    """As shipped (`joined`), or as before it: no B-tagged word continues a span, which the
    shipped decoder does only when the word's I outweighs its O, so lowering I to O there
    (the argmax B and its confidence unchanged) gives the former decoding."""
    if not joined:
        probabilities = probabilities.copy()
        is_b = probabilities.argmax(axis=1) == TAG_B
        lowered = np.minimum(probabilities[:, TAG_I], probabilities[:, TAG_O])
        probabilities[:, TAG_I] = np.where(is_b, lowered, probabilities[:, TAG_I])
    return list(decode_spans(text, doc, words, probabilities).spans)


proxy = Proxy.from_pretrained(proxy_dir, threads=2)
order = list(ids)
encoded, predictions = predict_texts(
    proxy.runtime, proxy.tokenizer, proxy.config, instruction, [texts[i] for i in order], 64
)
found: dict[bool, dict[str, list[Span]]] = {False: {}, True: {}}
for doc_id, doc in zip(order, encoded.docs, strict=True):
    window_words = [
        (encoded.windows[w].words, predictions.tag_probabilities[w]) for w in doc.windows
    ]
    words, probabilities = merge_word_probabilities(doc, window_words)
    for joined in (False, True):
        found[joined][doc_id] = decode(texts[doc_id], doc, words, probabilities, joined)
row: dict[str, object] = {"task": task_dir.name, "proxy": str(proxy_dir), "argv": sys.argv[2:]}
for joined in (False, True):
    answers = Answers("span", {}, {"spans": found[joined]})
    name = "joined" if joined else "shipped"
    every, fresh = compare(ids, answers, gold), compare(unseen, answers, gold)
    scores = every["fields"]["spans"]
    row[name] = {
        "score": round(every["score"], 4),
        "unannotated": round(fresh["score"], 4),
        "precision": round(scores["precision"], 4),
        "recall": round(scores["recall"], 4),
        "spans": scores["n_predicted"],
    }
print(json.dumps(row))
