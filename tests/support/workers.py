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
from tests.support.calls import ROOT, free_udp_port
from tests.support.sip_peers import sip_options_answered
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
        self.port = free_udp_port()
        self.log = workdir / f"worker-{self.port}.log"
        self.env = {
            **os.environ,
            "TRUNKLINE_ENV": "test",
            "TRUNKLINE_DATA_DIR": str(settings.data_dir),
            "TRUNKLINE_DATABASE_URL": settings.database_url_resolved,
            "TRUNKLINE_ENCRYPTION_KEYS": TEST_KEYRING,
            "TRUNKLINE_SIP__LISTEN": f"127.0.0.1:{self.port}",
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

    def launch(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "trunkline", "call-worker"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=out,
            )

    def wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 30
        while not sip_options_answered("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"call worker did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

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
