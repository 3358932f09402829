"""Fine-tuning a foundation-model encoder together with a linear head, in a process of its own.

`python -m monitor.models.fine_tune JOB.json` reads a job (the encoder folder, the labelled
texts, the step budget), trains every layer of the encoder and a linear layer on its
mean-pooled embeddings with AdamW and cross-entropy, and writes into the job's `out`
folder a complete model version: the encoder as safetensors with its config and tokenizer
(a transformers folder, loaded without pickle), and a logistic-regression head refitted on
the tuned encoder's embeddings as arrays plus JSON (`monitor.models.head_files`). The
version is named by a hash of the encoder weights and head arrays.

It runs in a child process (`monitor.versions.fm_retrain`) so that a deadline can stop it
(a thread cannot be stopped) and a crash or a kill cannot take the daemon down; the parent
renames `out` into place only after this process exited 0, so a killed run leaves nothing
that looks like a version.

All layers are tuned (no adapters): PEFT is not installed here, and a full fine-tune of a
small encoder is what the measured gains were made with (see docs/how-to/fine-tune.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

#: written last by the child: a folder without it is not a finished version
SUMMARY_FILE = "fine_tune.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass
class FineTuneJob:
    """What the child process is asked to do (written as JSON beside its output)."""

    encoder: str
    out: str
    texts: list[str]
    labels: list[str]
    steps: int = 200
    batch_size: int = 16
    learning_rate: float = 3e-5
    max_length: int = 128
    device: str = "cpu"
    threads: int = 2
    seed: int = 0
    #: seconds since the epoch after which training stops and the job fails
    deadline: float = field(default_factory=lambda: time.time() + 300)


def fine_tune(job: FineTuneJob) -> dict[str, float]:
    """Train, then write the version into `job.out`; returns the summary (also written)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from monitor.models.batching import mean_pool

    torch.manual_seed(job.seed)
    torch.set_num_threads(max(1, job.threads))
    started = time.monotonic()
    classes = sorted(set(job.labels))
    if len(classes) < 2:
        raise SystemExit(f"fine-tune: the labels hold one class ({classes})")
    device = torch.device(job.device)
    tokenizer = AutoTokenizer.from_pretrained(job.encoder)
    encoder = AutoModel.from_pretrained(job.encoder).to(device)
    linear = torch.nn.Linear(encoder.config.hidden_size, len(classes)).to(device)
    params = list(encoder.parameters()) + list(linear.parameters())
    optimiser = torch.optim.AdamW(params, lr=job.learning_rate)
    targets = torch.tensor([classes.index(label) for label in job.labels])
    order = np.random.default_rng(job.seed).permutation(len(job.texts))
    losses: list[float] = []
    encoder.train()
    for step in range(job.steps):
        if time.time() > job.deadline:
            raise SystemExit(f"fine-tune: deadline reached after {step} of {job.steps} steps")
        start = (step * job.batch_size) % len(order)
        picked = np.resize(np.roll(order, -start), job.batch_size)
        batch = tokenizer(
            [job.texts[i] for i in picked],
            padding=True,
            truncation=True,
            max_length=job.max_length,
            return_tensors="pt",
        ).to(device)
        hidden = encoder(**batch).last_hidden_state
        logits = linear(mean_pool(hidden, batch["attention_mask"]))
        loss = torch.nn.functional.cross_entropy(logits, targets[picked].to(device))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    out = Path(job.out)
    encoder.eval()
    encoder.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    train_seconds = time.monotonic() - started
    version = _write_head(job, out)
    summary = {
        "steps": float(job.steps),
        "loss_first": losses[0] if losses else float("nan"),
        "loss_last": float(np.mean(losses[-10:])) if losses else float("nan"),
        "train_seconds": train_seconds,
        "seconds": time.monotonic() - started,
    }
    (out / SUMMARY_FILE).write_text(json.dumps({"version": version, **summary}, indent=2))
    return summary


def _write_head(job: FineTuneJob, out: Path) -> str:
    """Refit the logistic head on the tuned encoder's embeddings (as a cycle will compute
    them), name the version, and save the head under that name."""
    from monitor.models.embedding_head import fit_head
    from monitor.models.encoder import SentenceEncoder, directory_identity

    encoder = SentenceEncoder(
        str(out), batch_size=job.batch_size, max_length=job.max_length, backend="torch"
    )
    head = fit_head(encoder, job.texts, job.labels, seed=job.seed)
    digest = hashlib.sha256((out / WEIGHTS_FILE).read_bytes())
    digest.update(head.classifier.coef_.tobytes() + head.classifier.intercept_.tobytes())
    version = f"fm-{digest.hexdigest()[:12]}"
    # the identity the folder will have under its final name (`<versions>/<version>`)
    head.encoder = f"{version}@{directory_identity(out)}"
    head.version = version
    head.save(out)
    return version


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m monitor.models.fine_tune JOB.json", file=sys.stderr)
        return 2
    job = FineTuneJob(**json.loads(Path(argv[0]).read_text()))
    fine_tune(job)
    return 0


def write_job(job: FineTuneJob, path: Path) -> None:
    path.write_text(json.dumps(asdict(job)))


if __name__ == "__main__":  # the child process of monitor.versions.fm_retrain
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main(sys.argv[1:]))
