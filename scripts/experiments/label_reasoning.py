"""Does the 0.5B model answer a label question better when it first writes one sentence of
reasoning? Each document is asked the bundled label prompt's system line and document, the
question, then "First say in one short sentence what the document says about this. Then write your
final answer as: Answer: yes or Answer: no."
(greedy decoding); the final yes/no is read from the reply ("Answer: ...", else its first
word: the model tends to answer first and explain after). Zero-shot: the label prompt's
shots answer with one word.

Usage: python label_reasoning.py TASK_DIR SPLIT N OUT.json
"""

import asyncio
import json
import re
import sys
from pathlib import Path

from _embedded import cached_client

from falconer.annotator.annotator import Annotator
from falconer.bench.annotator_bench import sample_documents
from falconer.bench.tasks import load_task
from falconer.llm.base import ChatRequest, ChatResponse, Message

ASK = (
    "\nFirst say in one short sentence what the document says about this. "
    "Then write your final answer as: Answer: yes or Answer: no."
)
FINAL = re.compile(r"answer\s*:\s*\**\s*(yes|no)", re.IGNORECASE)

task_dir, split, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
task = load_task(task_dir)
docs = sample_documents(task, split, n, seed=0)
client = cached_client()
template = Annotator(client).templates["label"]
system = template.system.replace("with a single word: yes or no", "")


def final_answer(response: ChatResponse) -> tuple[bool | None, str]:
    found = FINAL.findall(response.text)
    if found:
        return found[-1].lower() == "yes", response.text
    first = (response.text.strip().lower().split() or [""])[0].strip(".,!:")
    return ({"yes": True, "no": False}.get(first)), response.text


async def ask_all() -> list[dict]:
    gate = asyncio.Semaphore(2)

    async def one(doc) -> dict:
        user = template.render_user(task.instruction, doc.text).replace("Answer yes or no.", ASK)
        request = ChatRequest((Message("system", system), Message("user", user)), max_tokens=80)
        async with gate:
            answer = await client.ask(request, final_answer, template_version="label-reasoning-2")
        label, text = answer.value
        return {"id": doc.id, "gold": doc.label, "answer": label, "reply": text}

    return list(await asyncio.gather(*(one(d) for d in docs)))


rows = asyncio.run(ask_all())
answered = [r for r in rows if r["answer"] is not None]
accuracy = sum(r["answer"] == r["gold"] for r in rows) / len(rows)
out.write_text(json.dumps({"task": task.name, "split": split, "rows": rows}, indent=1))
print(f"{task.name} {split} n={len(rows)} answered {len(answered)} accuracy {accuracy:.3f}")
