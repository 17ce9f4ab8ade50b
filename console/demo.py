"""`skranke demo`: the backend as a child process on loopback, with a live demo day.

Starts `skranke-server demo` (SQLite in a temporary folder, the demo's life running),
waits until it answers, and hands back its URL and tokens; `stop()` ends it. The console
never imports the backend: it only starts its program. No Textual here.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class DemoServer:
    process: subprocess.Popen
    folder: Path
    url: str
    site: str
    tokens: dict[str, str]
    #: The waiting room's pages (call display, kiosk: one-time pairing URLs; a ticket).
    pages: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command() -> list[str]:
    """`skranke-server` beside this Python, else the module (a checkout without scripts)."""
    exe = shutil.which("skranke-server", path=str(Path(sys.executable).parent)) or \
        shutil.which("skranke-server")
    return [exe] if exe else [sys.executable, "-m", "backend.cli"]


def start(seed: int = 1, speed: float = 1.0, timeout: float = 60.0) -> DemoServer:
    folder = Path(tempfile.mkdtemp(prefix="skranke-demo-"))
    tokens_file = folder / "tokens.json"
    port = _free_port()
    log = (folder / "server.log").open("w", encoding="utf-8")
    process = subprocess.Popen(  # noqa: S603 - our own program, fixed arguments
        [*server_command(), "demo", "--port", str(port), "--dir", str(folder),
         "--seed", str(seed), "--speed", str(speed), "--tokens-file", str(tokens_file)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the demo backend stopped (exit {process.returncode}); "
                               f"its log: {folder / 'server.log'}")
        if tokens_file.exists():
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    info = json.loads(tokens_file.read_text(encoding="utf-8"))
                    return DemoServer(process, folder, url, info["site"], info["tokens"],
                                      info.get("pages", {}))
            except (httpx.TransportError, ValueError):
                pass
        time.sleep(0.1)
    DemoServer(process, folder, url, "demo", {}).stop()
    raise RuntimeError(f"the demo backend did not answer within {timeout:.0f} s; its log: "
                       f"{folder / 'server.log'}")
