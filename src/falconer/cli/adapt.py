"""`falconer adapt`: pre-train the proxy's encoder on a corpus's own texts before mining it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from falconer.cli.options import INPUT, JSON_OUT, MAX_CHARS, SEED, TEXT_FIELD, THREADS
from falconer.cli.progress import training_progress
from falconer.engine.corpus import Corpus, sample_documents
from falconer.proxy.adaptation import AdaptConfig, AdaptReport, adapt_backbone
from falconer.proxy.backbones import DEFAULT_BACKBONE

console = Console(stderr=True)


def adapt(
    input_path: Path = INPUT,
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the adapted encoder."),
    backbone: str = typer.Option(
        DEFAULT_BACKBONE,
        "--backbone",
        help="Encoder to adapt: 'default' (bundled MiniLM), 'mpnet', an encoder folder or hub id.",
    ),
    sample: int = typer.Option(
        4000, "--sample", min=1, help="Texts to learn from: a uniform sample of a larger corpus."
    ),
    epochs: int = typer.Option(10, "--epochs", min=1, help="Passes over the sampled texts."),
    learning_rate: float = typer.Option(
        5e-5, "--learning-rate", help="Rate of the encoder's steps (> 0)."
    ),
    head_steps: int = typer.Option(
        200, "--head-steps", min=0, help="Steps training a fresh masked-word head alone first."
    ),
    text_field: str = TEXT_FIELD,
    max_chars: int = MAX_CHARS,
    threads: int | None = THREADS,
    seed: int = SEED,
    json_out: Path | None = JSON_OUT,
) -> None:
    """Adapt the encoder to a corpus far from everyday English (masked-word pre-training).

    Task-adaptive pre-training on the corpus's own texts. Pass the folder to `falconer mine
    --backbone OUT`. Measured at 256 labels, mean of 3 seeds, on ncbi-diseases' 4,000 train
    sentences: exact F1 0.657 -> 0.673 after 3 epochs (14 minutes on 2 cores), 0.687 after 10;
    on sst2 and conll-persons within the seeds' noise."""
    config = AdaptConfig(  # checked before the corpus is read
        epochs=epochs, learning_rate=learning_rate, head_steps=head_steps, seed=seed
    )
    corpus = Corpus(input_path, text_field=text_field, max_chars=max_chars)
    texts = [doc.text for doc in sample_documents(corpus, sample, seed)]
    console.print(f"adapting {backbone} to {len(texts):,} texts of {input_path}, {epochs} epochs")
    with training_progress(console) as progress:
        report = adapt_backbone(texts, out, backbone, config, threads, progress)
    _print(report, out)
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_dict(), indent=2))


def _print(report: AdaptReport, out: Path) -> None:
    console.print(
        f"{report.pieces:,} pieces of {report.texts:,} texts, {report.steps:,} steps in "
        f"{report.seconds:,.0f} s; masked-word loss {report.head_loss} after the head alone, "
        f"{report.final_loss} at the end"
    )
    console.print(f"adapted encoder: {out}  (use: falconer mine ... --backbone {out})")
