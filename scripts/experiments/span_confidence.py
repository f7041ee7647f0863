"""A document's span confidence: its least sure word (shipped) against the product of its
words' confidences (P(every word's tag right) if words erred independently), held against
whether the proxy's whole answer equals the LLM-only run's on an e2e corpus: calibration error
and how well each ranks right above wrong answers (AUC).

    python span_confidence.py E2E_TASK_FOLDER "INSTRUCTION"

(E2E_TASK_FOLDER: <--workdir of bench e2e>/<task name>, with falconer-n100 and llm-only.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from falconer.core.metrics import calibration_error
from falconer.core.spans import Span, same_spans
from falconer.proxy import Proxy
from falconer.proxy.decoding import decode_spans, merge_word_probabilities
from falconer.proxy.inference import predict_texts


def main(root: Path, instruction: str) -> None:
    proxy = Proxy.from_pretrained(root / "falconer-n100" / "proxy")
    corpus = [json.loads(line) for line in (root / "corpus.jsonl").read_text().splitlines()]
    rows = pd.read_parquet(root / "llm-only" / "results.parquet")
    rows = rows[rows.kind == "span"]
    texts = [d["text"] for d in corpus]
    encoded, predictions = predict_texts(
        proxy.runtime, proxy.tokenizer, proxy.config, instruction, texts
    )
    least, product, same = [], [], []
    for document, doc in zip(corpus, encoded.docs, strict=True):
        window_words = [
            (encoded.windows[w].words, predictions.tag_probabilities[w]) for w in doc.windows
        ]
        words, probabilities = merge_word_probabilities(doc, window_words)
        answer = decode_spans(document["text"], doc, words, probabilities)
        sure = probabilities.max(axis=1)
        least.append(float(sure.min()))
        product.append(float(np.prod(sure)))
        theirs = rows[rows.doc_id == document["id"]]
        wanted = [Span.of(document["text"], int(r.start), int(r.end)) for r in theirs.itertuples()]
        same.append(same_spans(answer.spans, wanted))
    result = {"corpus": str(root), "same_answer_share": float(np.mean(same))}
    for name, confidences in (("least_sure_word", least), ("product", product)):
        result[name] = {
            "mean_confidence": round(float(np.mean(confidences)), 3),
            "calibration_error": round(calibration_error(confidences, same), 3),
            "auc": round(float(roc_auc_score(same, confidences)), 3),
        }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
