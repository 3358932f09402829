"""`label-requests` on a real text monitor: Label Studio tasks and CSV of unlabelled rows,
never the same row twice, and Label Studio's export read back by the `labels:` source."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from monitor.cli import main
from monitor.labels.label_studio import export_rows, task_label
from monitor.store import open_store
from monitor.store.run_reads import predictions


@pytest.fixture
def project(tmp_path: Path, tiny_bert: Path, amazon_split, sentiment) -> Path:
    """Amazon reference; a stream of 3 windows of 40 rows, half imdb, half amazon; a
    `labels:` source of Label Studio exports."""
    reference, held_out = amazon_split
    reference.to_csv(tmp_path / "reference.csv", index=False)
    stream = pd.concat(
        [held_out.iloc[:60], sentiment["imdb"].sample(60, random_state=1)], ignore_index=True
    ).sample(frac=1.0, random_state=2)
    stream.insert(0, "id", [f"r{i}" for i in range(len(stream))])
    (tmp_path / "stream").mkdir()
    (tmp_path / "exports").mkdir()
    stream.to_csv(tmp_path / "stream" / "1.csv", index=False)
    monitor = {
        "name": "reviews",
        "model": {"type": "transformers", "path": str(tiny_bert), "batch_size": 16},
        "reference": {"path": "reference.csv"},
        "stream": {"type": "files", "path": "stream/*.csv"},
        "labels": {"type": "files", "path": "exports/*.json"},
        "columns": {"text": "text", "id": "id"},
        "window": {"rows": 40},
        "label_requests": {"budget": 12, "per_window": 5},
    }
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump({"storage": "sqlite:///dw.db", "monitors": [monitor]}))
    for _ in range(3):
        assert main(["once", "--config", str(config)]) == 0
    return config


def export_of(tasks: list[dict], labels: dict[str, str]) -> list[dict]:
    """What Label Studio's JSON export holds once `labels` (row id: class) were chosen."""
    exported = []
    for number, task in enumerate(tasks, start=1):
        row_id = task["data"]["id"]
        result = [
            {
                "id": f"region{number}",
                "from_name": "label",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [labels[row_id]]},
                "origin": "manual",
            }
        ]
        exported.append(
            {
                "id": number,
                "data": task["data"],
                "annotations": [
                    {
                        "id": 1000 + number,
                        "result": result,
                        "was_cancelled": False,
                        "ground_truth": False,
                        "created_at": "2026-12-07T10:00:00.000000Z",
                        "updated_at": "2026-12-07T10:00:00.000000Z",
                        "lead_time": 3.2,
                        "task": number,
                        "completed_by": 1,
                    }
                ],
                "predictions": task["predictions"],
                "project": 1,
            }
        )
    return exported


def test_requests_are_tasks_of_unlabelled_rows_and_their_export_labels_the_rows(
    project: Path, capsys
) -> None:
    out = project.parent / "tasks.json"
    assert main(["label-requests", "--config", str(project), "--out", str(out)]) == 0
    assert "12 label requests from 3 windows of reviews" in capsys.readouterr().out
    tasks = json.loads(out.read_text())
    assert len(tasks) == 12
    runs = {task["data"]["run_id"] for task in tasks}
    assert all(sum(t["data"]["run_id"] == r for t in tasks) <= 5 for r in runs)  # per_window
    first = tasks[0]
    assert set(first["data"]) == {"id", "text", "monitor", "run_id", "request_score"}
    [prediction] = first["predictions"]
    assert prediction["result"][0]["type"] == "choices"
    assert prediction["result"][0]["value"]["choices"][0] in ("negative", "positive")
    scores = [t["data"]["request_score"] for t in tasks]
    # the best-scored row comes first; later picks also weigh likeness to those before
    assert scores[0] == max(scores) and len({t["data"]["text"] for t in tasks}) == 12

    # a second request skips the rows already asked for
    again = project.parent / "more.csv"
    assert main(["label-requests", "--config", str(project), "--out", str(again), "-n", "5"]) == 0
    with again.open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 5 and not {r["id"] for r in table} & {t["data"]["id"] for t in tasks}

    # labels come back as Label Studio exports them, and the next cycle joins them
    stream = pd.read_csv(project.parent / "stream" / "1.csv")
    names = {0: "negative", 1: "positive"}  # the classes the labeller chooses from
    pairs = zip(stream["id"], stream["label"], strict=True)
    truth = {row_id: names[label] for row_id, label in pairs}
    export = export_of(tasks, {t["data"]["id"]: truth[t["data"]["id"]] for t in tasks})
    (project.parent / "exports" / "project-1-at-2026-12-07.json").write_text(json.dumps(export))
    capsys.readouterr()
    assert main(["check-config", str(project)]) == 0
    assert "set aside" not in capsys.readouterr().out  # the export is no stray file
    assert main(["once", "--config", str(project)]) == 0
    store = open_store(f"sqlite:///{project.parent / 'dw.db'}")
    with store.reading() as session:
        joined = {p.row_id: p.target for run in (1, 2, 3) for p in predictions(session, run)}
    assert {t["data"]["id"]: joined[t["data"]["id"]] for t in tasks} == {
        t["data"]["id"]: truth[t["data"]["id"]] for t in tasks
    }
    capsys.readouterr()
    last = project.parent / "last.json"
    assert main(["label-requests", "--config", str(project), "--out", str(last)]) == 0
    labelled = {t["data"]["id"] for t in tasks} | {r["id"] for r in table}
    assert not {t["data"]["id"] for t in json.loads(last.read_text())} & labelled


def test_the_export_reader_takes_the_newest_kept_annotation() -> None:
    task = {
        "data": {"id": "r1"},
        "annotations": [
            {"result": [{"from_name": "label", "type": "choices", "value": {"choices": ["1"]}}],
             "updated_at": "2026-12-07T10:00:00Z"},
            {"result": [{"from_name": "label", "type": "choices", "value": {"choices": ["0"]}}],
             "updated_at": "2026-12-07T11:00:00Z"},
            {"result": [{"from_name": "label", "type": "choices", "value": {"choices": ["1"]}}],
             "updated_at": "2026-12-07T12:00:00Z", "was_cancelled": True},
        ],
    }  # fmt: skip
    assert task_label(task, "label") == "0"
    assert task_label({"data": {}, "annotations": []}, "label") is None
    rows = export_rows([task, {"data": {"id": "r2"}, "annotations": []}], "id", "label", None)
    assert rows == [{"id": "r1", "label": "0"}]
    with pytest.raises(ValueError, match="JSON array"):
        export_rows({"tasks": []}, "id", "label", None)


def test_a_model_without_embeddings_is_one_line_and_exit_2(project: Path, monkeypatch, capsys):
    from monitor.models.transformers import TransformersModel

    scoring = TransformersModel.score

    def without_embeddings(self, inputs):  # a text model that gives no embeddings
        return replace(scoring(self, inputs), embeddings=None)

    monkeypatch.setattr(TransformersModel, "score", without_embeddings)
    out = project.parent / "tasks.json"
    assert main(["label-requests", "--config", str(project), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in err and len(errors) == 1 and "gives no embeddings" in errors[0]
    assert not out.exists()


def test_choice_wants_both_signals_honours_the_window_cap_and_skips_near_copies() -> None:
    from monitor.metrics.label_choice import choose, request_scores, uncertainty

    assert uncertainty(np.array([[0.5, 0.5], [0.9, 0.1]])) == pytest.approx([1.0, 0.2])
    # row 0 is only uncertain, row 1 only unlike, row 2 both: row 2 ranks first
    scores = request_scores(np.array([0.9, 0.1, 0.8]), np.array([0.0, 0.9, 0.8]))
    assert int(np.argmax(scores)) == 2
    windows = np.array([1, 1, 1, 2])
    assert choose(np.array([0.9, 0.8, 0.7, 0.1]), windows, 3, per_window=2).tolist() == [0, 1, 3]
    # rows 0 and 1 are one text twice: with embeddings the second pick is another row
    vectors = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [9.0, 0.0]])
    picked = choose(np.array([0.9, 0.85, 0.5, 0.1]), windows, 2, None, vectors, 1.0)
    assert picked.tolist() == [0, 2]


def test_a_newer_export_gives_only_the_labels_an_older_one_did_not(tmp_path: Path) -> None:
    from monitor.labels.label_studio import LabelStudioExports

    def task(row_id: str, label: str) -> dict:
        region = {"from_name": "label", "type": "choices", "value": {"choices": [label]}}
        return {"data": {"id": row_id}, "annotations": [{"result": [region]}]}

    def by_name(chunks: dict) -> dict:
        return {files.states[seq].name: rows for seq, rows in chunks.items() if not rows.empty}

    (tmp_path / "a.json").write_text(json.dumps([task("r1", "positive"), task("r2", "negative")]))
    files = LabelStudioExports(str(tmp_path / "*.json"), "id", "label", None)
    first = by_name(files.scan().chunks)["a.json"]
    assert first[["id", "label"]].values.tolist() == [["r1", "positive"], ["r2", "negative"]]
    later = [task("r1", "positive"), task("r2", "negative"), task("r3", "positive")]
    (tmp_path / "b.json").write_text(json.dumps(later))
    (tmp_path / "c.json").write_text("{not json")
    chunks = by_name(files.scan().chunks)
    assert list(chunks) == ["b.json"] and chunks["b.json"]["id"].tolist() == ["r3"]
    assert [r.row_id for r in files.set_aside()] == ["c.json"]
