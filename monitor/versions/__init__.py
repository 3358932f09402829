"""The model-version lifecycle of versioned (embedding-head) models, in one place.

- `folders`: where versions sit on disk and what a version folder says it holds;
- `catalog`: listing versions, registering them, making one live (`model promote`);
- `switch`: the one function that changes the model a running monitor scores with, used by
  the in-process cycle and by a Dask worker alike;
- `head_retrain`: refitting a head on recent labelled rows (the `retrain-head` hook);
- `fm_retrain` and `shadow`: fine-tuning the encoder with its head into a candidate that
  runs in shadow and is promoted or rejected on later labels (the `retrain-fm` hook);
- `view`: the read-only view of a monitor that hooks get instead of its runtime.

Retrains and `model promote` only write the store and version folders; a running monitor
takes the live version up through `switch` before its next cycle. `catalog`, `folders`,
`switch` and `view` import no torch; the fine-tune runs in a child process
(`monitor.models.fine_tune`).
"""
