"""A sample of `benchmarks/improvement.py` with the tiny BERT: one arm (retrain-fm on labels
chosen by `label-requests`' code) over one shift, through the product's store, cycle,
fine-tune and shadow decision; and the last line's keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.improvement import (
    ARMS,
    Loop,
    Phase,
    arguments,
    base_encoder,
    read_domains,
    run_arm,
    summarise,
)
from monitor.models.embedding_head import fit_head

KEYS = {
    "acc_no_retrain",
    "acc_head",
    "acc_fm",
    "acc_fm_requested",
    "acc_upper_bound",
    "labels_to_match_random",
    "bad_promotions",
    "fm_retrain_seconds",
}


@pytest.mark.slow  # one fine-tune of 10 steps in a child process
def test_requested_labels_train_a_candidate_decided_in_shadow(
    tmp_path: Path, tiny_bert: Path, sentiment_dir: Path
) -> None:
    args = arguments(
        [
            *("--data", str(sentiment_dir), "--encoder", str(tiny_bert), "--backend", "torch"),
            *("--window", "40", "--home-windows", "1", "--label-windows", "2"),
            *("--shadow-windows", "1", "--eval-windows", "1", "--budget", "20"),
            *("--shadow-rows", "30", "--steps", "10", "--learning-rate", "1e-3"),
            *("--max-length", "64", "--deadline", "300"),
        ]
    )
    frames = read_domains(args.data)
    amazon = frames["amazon"].sample(frac=1.0, random_state=0).reset_index(drop=True)
    reference = amazon.iloc[:200].reset_index(drop=True)
    encoder = base_encoder(args)
    head = tmp_path / "head"
    fit_head(encoder, reference["text"].tolist(), reference["label"].tolist()).save(head)
    (tmp_path / "arm").mkdir()
    loop = Loop(tmp_path / "arm", args, encoder, reference, head)
    yelp = frames["yelp"].sample(frac=1.0, random_state=0).iloc[:160]
    arm = next(a for a in ARMS if a.name == "retrain-fm requested")

    phase = run_arm(arm, loop, amazon.iloc[200:240], {"yelp": yelp}, seed=0)["yelp"]

    assert phase.labels == 20  # half the random budget of 20 a window, over 2 windows
    # decided on the 30 labelled rows of the shadow window, not left waiting
    assert "on 30 later labelled rows" in phase.verdict, phase.verdict
    assert phase.candidate_accuracy is not None and 0.0 < phase.accuracy <= 1.0
    if phase.promoted:  # the evaluation window was scored by the candidate, live by then
        assert phase.accuracy == pytest.approx(phase.candidate_accuracy)
    assert phase.retrain_seconds > 0
    result = summarise({(arm.name, "yelp"): [phase]}, args)
    assert set(result) == KEYS
    assert result["acc_fm_requested"] == {"yelp": round(phase.accuracy, 4), "imdb": None}


def test_the_last_line_holds_the_issue_keys_per_domain() -> None:
    args = arguments(["--quick"])
    fm = Phase(labels=90, accuracy=0.9, retrain_seconds=80.0)
    requested = Phase(labels=45, accuracy=0.91, retrain_seconds=70.0)
    bound = Phase(labels=300, accuracy=0.9, candidate_accuracy=0.93, promoted=True)
    results = {
        ("retrain-fm random", "yelp"): [fm],
        ("retrain-fm requested", "yelp"): [requested],
        ("upper bound (fm, all labels)", "yelp"): [bound],
        ("retrain-head random", "imdb"): [Phase(accuracy=0.8, promoted=True, bad_promotion=True)],
    }
    result = summarise(results, args)
    assert set(result) == KEYS
    assert result["labels_to_match_random"] == {"yelp": 45, "imdb": None}
    assert result["acc_upper_bound"] == {"yelp": 0.93, "imdb": None}
    assert result["acc_head"] == {"yelp": None, "imdb": 0.8}
    assert result["bad_promotions"] == 1 and result["fm_retrain_seconds"] == 80.0
    assert result["acc_fm"] == {"yelp": 0.9, "imdb": None}
