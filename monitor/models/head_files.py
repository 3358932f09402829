"""A classifier head on disk in a form that cannot run code: arrays plus JSON.

A head is a logistic regression: its `coef_`, `intercept_` and `classes_` go to `head.npz`
(read with `allow_pickle=False`) and everything else to `head.json`. A pickle (`head.joblib`,
what `model fit-head` wrote before) runs whatever it holds when loaded, so it loads only
where the config opts in (`model.allow_pickle: true`) and only from the configured head
folder; `driftwarden model convert-head DIR` rewrites one as arrays. A version's files are
hashed when it is promoted, and checked against that hash when a cycle takes it up.
Imports scikit-learn only to build or save a classifier (hashing a folder needs none).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from monitor.errors import ModelError

ARRAYS_FILE = "head.npz"
META_FILE = "head.json"
PICKLE_FILE = "head.joblib"  # the format before arrays; loaded only on an explicit opt-in
FORMAT = "logistic-regression-arrays/1"


def save_classifier(folder: Path, classifier: Any, meta: dict[str, Any]) -> None:
    """Write `classifier` (a fitted LogisticRegression) as arrays, and `meta` as JSON."""
    from sklearn.linear_model import LogisticRegression

    if not isinstance(classifier, LogisticRegression):
        raise ModelError(f"a head is a LogisticRegression, not a {type(classifier).__name__}")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ARRAYS_FILE).open("wb") as handle:
        np.savez(
            handle,
            # the fitted dtypes (float32 on float32 embeddings), so scores repeat exactly
            coef=np.asarray(classifier.coef_),
            intercept=np.asarray(classifier.intercept_),
            classes=np.asarray(classifier.classes_, dtype=np.int64),
        )
    document = {**meta, "format": FORMAT}
    (folder / META_FILE).write_text(json.dumps(document, indent=2) + "\n")


def load_classifier(folder: Path, *, allow_pickle: bool = False) -> Any:
    """The head classifier in `folder`: from arrays, or from a pickle when `allow_pickle`."""
    if (folder / ARRAYS_FILE).is_file():
        return _from_arrays(folder / ARRAYS_FILE)
    if (folder / PICKLE_FILE).is_file():
        if not allow_pickle:
            raise ModelError(
                f"{folder} holds a head saved as a pickle ({PICKLE_FILE}, written by an older "
                "driftwarden), which can run code when loaded; convert it once with "
                f"`driftwarden model convert-head {folder}`, or set `allow_pickle: true` "
                "in the model block if you trust the file"
            )
        import joblib

        try:
            return joblib.load(folder / PICKLE_FILE)
        except Exception as exc:
            raise ModelError(f"cannot load {folder / PICKLE_FILE}: {exc}") from None
    raise ModelError(
        f"{folder} holds no head (expected {ARRAYS_FILE} and {META_FILE}; "
        "make one with `driftwarden model fit-head`)"
    )


def _from_arrays(path: Path) -> Any:
    from sklearn.linear_model import LogisticRegression

    try:
        with np.load(path, allow_pickle=False) as arrays:
            coef, intercept, classes = arrays["coef"], arrays["intercept"], arrays["classes"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read the head arrays in {path}: {exc}") from None
    kinds = (coef.dtype.kind, intercept.dtype.kind, classes.dtype.kind)
    if kinds != ("f", "f", "i") or coef.ndim != 2 or intercept.shape != (coef.shape[0],):
        raise ModelError(f"{path}: the head's arrays do not fit together")
    if classes.ndim != 1:
        raise ModelError(f"{path}: the head's classes are not a list")
    if len(classes) < 2 or coef.shape[0] != (1 if len(classes) == 2 else len(classes)):
        raise ModelError(f"{path}: {coef.shape[0]} weight rows for {len(classes)} classes")
    classifier = LogisticRegression()
    classifier.coef_ = coef
    classifier.intercept_ = intercept
    classifier.classes_ = classes
    classifier.n_features_in_ = coef.shape[1]
    return classifier


def folder_digest(folder: Path) -> str:
    """SHA-256 over the names and bytes of a head folder's files, as recorded at promotion."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def check_digest(folder: Path, expected: str | None, version: str) -> None:
    """Raise ModelError unless the folder's files hash to `expected` (None: nothing to check)."""
    if expected is None:
        return
    try:
        found = folder_digest(folder)
    except OSError as exc:
        raise ModelError(f"cannot read head version {version} in {folder}: {exc}") from None
    if found != expected:
        raise ModelError(
            f"head version {version} in {folder} no longer matches the hash recorded when it "
            "was promoted (its files changed on disk); restore it, or promote another version"
        )


def convert_pickled_head(folder: Path) -> str:
    """Load `folder`'s pickled head (the caller trusts it) and write it as arrays; returns
    its version. The JSON keeps its version and metrics: the weights do not change."""
    from monitor.errors import UsageError

    if not (folder / PICKLE_FILE).is_file() or not (folder / META_FILE).is_file():
        raise UsageError(f"{folder} holds no pickled head ({PICKLE_FILE} and {META_FILE})")
    if (folder / ARRAYS_FILE).is_file():
        raise UsageError(f"{folder} already holds {ARRAYS_FILE}; nothing to convert")
    classifier = load_classifier(folder, allow_pickle=True)
    try:
        meta = json.loads((folder / META_FILE).read_text())
        version = str(meta["version"])
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read {folder / META_FILE}: {exc}") from None
    meta.pop("format", None)
    save_classifier(folder, classifier, meta)
    return version
