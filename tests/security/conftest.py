"""A real `skranke-server serve` on loopback for the hostile-client tests, its log in a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import ServerProcess, wait_healthy


class Served(ServerProcess):
    """ServerProcess with its output kept (the log is checked) and settings of the test's."""

    def __init__(self, tmp: Path, **settings) -> None:
        super().__init__(tmp)
        self.log = tmp / "server.log"
        extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
        text = self.config.read_text()
        self.config.write_text(extra + text)

    def start(self, *args: str, **env: str) -> None:
        self.launch(*args, **env)
        self.ready()

    def launch(self, *args: str, **env: str) -> None:
        """Start the process (it migrates its database itself), without waiting for it."""
        self.out = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "--config", str(self.config), "serve",
             "--port", str(self.port), *args], env={**os.environ, **env},
            stdout=self.out, stderr=self.out)

    def ready(self) -> None:
        if not wait_healthy(self.url, alive=lambda: self.proc.poll() is None):
            raise RuntimeError("server did not start: " + self.log.read_text()[-2000:])

    def stop(self) -> None:
        super().stop()
        if getattr(self, "out", None):
            self.out.close()

    def token_id(self, person: str) -> str:
        return next(t["id"] for t in json.loads(self.cli("token", "list", "--json"))
                    if t["person"] == person)

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


@pytest.fixture
def served(tmp_path):
    """served(**settings) -> a started server; stopped after the test."""
    started: list[Served] = []

    def start(**settings) -> Served:
        s = Served(tmp_path, **settings)
        s.migrate()
        s.start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
