"""Ctrl-C or SIGTERM: the daemon process ends right after its last cycle, not seconds later
(and, on the way, `HEAD /metrics` answers 200 as `curl -I` expects).

A real `driftwarden run` process gets a real signal once it recorded a cycle. The exit is
asserted only against a generous limit; the measured time is printed (`pytest -s`) and
recorded as a test property, never asserted.
"""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from alerts.support import config_document, window_rows

GENEROUS_S = 60


@pytest.mark.integration
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_daemon_exits_after_its_last_cycle(
    tmp_path: Path, stop: signal.Signals, record_property: pytest.RecordProperty
) -> None:
    document = config_document(tmp_path, [])
    document["monitors"][0]["schedule"] = {"every": "2s"}
    (tmp_path / "stream").mkdir()
    window_rows(0.9, seed=1).to_csv(tmp_path / "stream" / "001.csv", index=False)
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump(document))
    entry = "import sys; from monitor.cli import main; sys.exit(main())"
    daemon = subprocess.Popen(
        [sys.executable, "-c", entry, "run", "--config", str(config), "--metrics-port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert daemon.stderr is not None
        log = []
        for line in daemon.stderr:  # the first recorded cycle, then the signal
            log.append(line)
            if "run 1 ok" in line:
                break
        else:
            pytest.fail("the daemon ended before its first cycle:\n" + "".join(log))
        port = int(re.search(r"on http://127.0.0.1:(\d+)", "".join(log))[1])  # type: ignore[index]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("HEAD", "/metrics")  # curl -I, as an SRE checks an endpoint
        answer = connection.getresponse()
        connection.close()
        assert answer.status == 200 and int(answer.getheader("Content-Length") or 0) > 0
        signalled = time.monotonic()
        daemon.send_signal(stop)
        rest = daemon.communicate(timeout=GENEROUS_S)[1]
        exited = time.monotonic() - signalled
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert daemon.returncode == 0, rest
    assert f"{stop.name} received" in rest and "driftwarden.daemon: stopped" in rest
    record_property("exit_after_signal_s", round(exited, 3))
    print(f"\n{stop.name}: the process ended {exited:.2f} s after the signal")
