"""The classifier head a scenario's monitor scores with, fitted on the scenario's reference.

Cached by the encoder's identity and the reference's content under `$DRIFTWARDEN_HOME` (else
`~/.cache/driftwarden`), so a scenario is fitted once per machine, and CI refits at most once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import pandas as pd

from monitor.atomic import publish_folder
from monitor.errors import DriftwardenError
from monitor.home import data_dir
from monitor.models.embedding_head import fit_head
from monitor.models.encoder import SentenceEncoder
from monitor.models.head_files import ARRAYS_FILE as HEAD_FILE
from monitor.models.head_files import META_FILE
from monitor.replay.scenario import LABEL, TEXT

log = logging.getLogger("driftwarden.replay")

# Bump when the fitting recipe changes, so heads fitted the old way are not reused.
HEAD_RECIPE = "replay2"  # 2: arrays plus JSON (1 was a pickle)


def head_folder(home: Path, encoder: SentenceEncoder, reference: pd.DataFrame) -> Path:
    """`HOME/heads/replay-<encoder>-<hash of encoder identity, reference rows, recipe>`."""
    digest = hashlib.sha256()
    digest.update(f"{encoder.identity}\n{HEAD_RECIPE}\n".encode())
    digest.update(reference[[TEXT, LABEL]].to_csv(index=False).encode())
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder.identity.split("@")[0].removeprefix("package:"))
    return home / "heads" / f"replay-{slug}-{digest.hexdigest()[:20]}"


def ensure_reference_head(
    encoder: SentenceEncoder, reference: pd.DataFrame, home: Path | None = None
) -> Path:
    """The folder of a head fitted on `reference`: cached, or fitted now (seed 0) and saved."""
    folder = head_folder(home or data_dir(), encoder, reference)
    if (folder / HEAD_FILE).is_file() and (folder / META_FILE).is_file():
        return folder
    usable = reference[reference[TEXT].astype(str).str.strip() != ""]
    log.info("fitting a head on the %d reference rows (cached in %s)", len(usable), folder)
    head = fit_head(encoder, usable[TEXT].astype(str).tolist(), usable[LABEL].tolist(), seed=0)
    # a replay running beside this one never reads half a head; the first to publish wins
    try:
        publish_folder(folder, head.save, done=META_FILE)
    except OSError as exc:
        raise DriftwardenError(f"cannot store the scenario head in {folder}: {exc}") from None
    if not (folder / HEAD_FILE).is_file():
        raise DriftwardenError(f"cannot store the scenario head in {folder}")
    return folder
