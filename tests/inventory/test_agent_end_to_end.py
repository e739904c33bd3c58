"""The real agent against the real server (`infogerance demo` data, `infogerance serve`):
enrolled, its inventory and performance arrive; through a server outage nothing is lost and
nothing is stored twice."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

EXE = [sys.executable, "-m", "infogerance"]


def run(args: list[str], home: Path, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INFOGERANCE_")}
    environment["INFOGERANCE_HOME"] = str(home)
    return subprocess.run(
        [*EXE, *args], env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("INFOGERANCE_")}
        environment["INFOGERANCE_HOME"] = str(self.home)
        self.process = subprocess.Popen(
            [*EXE, "serve", "--port", str(self.port), "--workers", "1", "--no-worker"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("the server did not answer in 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


def facts(home: Path, hostname: str) -> dict[str, Any]:
    script = (
        "import json;"
        "from infogerance.inventory.models import Agent, Asset, InventorySnapshot as S, "
        "PerformanceSummary as P;"
        f"a = Asset.objects.get(hostname={hostname!r}, organization__slug='martin');"
        "g = Agent.objects.get(asset=a, revoked_at=None);"
        "print(json.dumps({'software': a.software_count, 'os': a.os_name, "
        "'snapshots': S.objects.filter(asset=a).count(), "
        "'performance': P.objects.filter(asset=a).count(), "
        "'last_sequence': g.last_sequence, 'stored': g.reports_stored}))"
    )
    result = run(["manage", "shell", "-c", script], home)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def demo_with_token(home: Path) -> str:
    """A demo instance in ``home``, and a fresh enrolment token of its first client."""
    assert run(["demo"], home).returncode == 0
    hint = run(
        ["manage", "shell", "-c", "from infogerance import demo; print(demo.enrolment_hint('x'))"],
        home,
    )
    token = re.search(r"--token (\S+)", hint.stdout)
    assert token, hint.stdout + hint.stderr
    return token.group(1)


def test_an_agent_against_the_demo_survives_an_outage(tmp_path: Path) -> None:
    home = tmp_path / "home"
    token = demo_with_token(home)
    server = Server(home, _free_port())
    config, spool = tmp_path / "agent.json", tmp_path / "spool"
    agent = ["--config", str(config)]
    queue = ["--spool", str(spool)]
    url = f"http://127.0.0.1:{server.port}"
    server.start()
    try:
        enrolled = run(["agent", "enroll", "--server", url, "--token", token, *agent], home)
        assert enrolled.returncode == 0, enrolled.stderr
        assert oct(config.stat().st_mode & 0o777) == "0o600"
        first = run(["agent", "once", *agent, *queue], home)
        assert first.returncode == 0, first.stderr
        hostname = socket.gethostname()
        after_first = facts(home, hostname)
        assert after_first["software"] > 50 and after_first["os"]  # this machine's own
        assert (after_first["snapshots"], after_first["performance"]) == (1, 1)
        server.stop()
        # The server is down: the reports wait in the queue.
        down = run(["agent", "once", *agent, *queue], home)
        assert down.returncode == 1 and "wait in" in down.stderr, down.stderr
        # The second run's inventory and summary (sequences 3 and 4), on disk in the queue.
        queued = sorted(path.name for path in (spool / "queue").glob("*.json"))
        assert [name.split("-", 1)[0] for name in queued] == [f"{3:012d}", f"{4:012d}"]
        assert sorted(name.split("-", 1)[1] for name in queued) == [
            "inventory.json",
            "performance.json",
        ]
        server.start()
        again = run(["agent", "once", *agent, *queue], home)
        assert again.returncode == 0, again.stderr
        final = facts(home, hostname)
    finally:
        server.stop()
    # Three runs, an inventory and a performance summary each: six reports, each stored once.
    assert (final["last_sequence"], final["stored"]) == (6, 6)
    assert final["performance"] == 3
    assert final["snapshots"] in (1, 2, 3)  # one more only if the machine changed meanwhile
