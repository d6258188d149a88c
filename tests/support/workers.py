"""``trunkline call-worker`` as its own process on the test database (crash and dispatcher
tests): started on a free loopback port, ready once its SIP edge answers OPTIONS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import TEST_KEYRING
from tests.support.calls import ROOT
from tests.support.sip_peers import free_port, sip_options_answered
from trunkline.config import Settings


class WorkerProcess:
    """One call worker process; ``env`` adds or overrides its ``TRUNKLINE_*`` settings."""

    def __init__(
        self,
        settings: Settings,
        workdir: Path,
        *,
        lease_ttl_s: float = 30.0,
        rtp_ports: str = "33000-33199",
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()  # free for UDP and TCP: the edge binds both
        self.env = {
            **os.environ,
            "TRUNKLINE_ENV": "test",
            "TRUNKLINE_DATA_DIR": str(settings.data_dir),
            "TRUNKLINE_DATABASE_URL": settings.database_url_resolved,
            "TRUNKLINE_ENCRYPTION_KEYS": TEST_KEYRING,
            "TRUNKLINE_MEDIA__RTP_PORTS": rtp_ports,
            "TRUNKLINE_CALLS__LEASE_TTL_S": str(lease_ttl_s),
            "TRUNKLINE_CALLS__HEARTBEAT_S": "0.5",
            "TRUNKLINE_SECURITY__ALLOW_ADDRESSES": '["127.0.0.0/8"]',
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self) -> WorkerProcess:
        self.launch()
        self.wait_ready()
        return self

    @property
    def log(self) -> Path:
        return self.workdir / f"worker-{self.port}.log"

    def launch(self) -> None:
        self.env["TRUNKLINE_SIP__LISTEN"] = f"127.0.0.1:{self.port}"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "trunkline", "call-worker"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=out,
            )

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until the edge answers OPTIONS. A free port can be taken between the pick and the
        worker's bind (other suites run on this machine too): then it starts again on another."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        for _ in range(3):
            while not sip_options_answered("127.0.0.1", self.port):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            else:
                return
            text = self.log.read_text()
            if self.proc.poll() is None or "address already in use" not in text:
                self.stop()
                raise RuntimeError(f"call worker did not start:\n{text[-3000:]}")
            self.port = free_port()
            self.launch()
        raise RuntimeError(f"call worker found no free port:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
