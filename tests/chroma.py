"""A real Chroma server for the tests: `chroma run` (installed with chromadb) on a free port of
127.0.0.1 and a temporary folder, stopped at the end of the session."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

STARTUP_SECONDS = 60.0


def chroma_command() -> str:
    """The `chroma` command of this interpreter's environment (the one chromadb installed)."""
    beside = Path(sys.executable).with_name("chroma")
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if found is None:
        raise RuntimeError("the `chroma` command is missing: chromadb is installed without its server")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ChromaProcess:
    """`chroma run` on 127.0.0.1, up once `url` answers its heartbeat."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="coda-chroma-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (self.folder / "server.log").open("wb")
        command = [chroma_command(), "run", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--path", str(self.folder / "data")], stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run stopped at start: {self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"chroma run did not answer within {STARTUP_SECONDS:.0f} s: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return (self.folder / "server.log").read_text(encoding="utf-8", errors="replace")[-2000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
