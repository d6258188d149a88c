"""Real SIP peers on loopback for tests and benchmarks: Kamailio and SIPp processes.

Usable from any test (or script) as context managers::

    with KamailioPeer(algo="SHA-256", tls=True, users={"trunk1": "pw"}) as kam:
        target = kam.target("tcp")          # trunkline.sip.Target on 127.0.0.1
        ...
        kam.received(method="REGISTER")     # what the registrar saw (from its xlog lines)

    with SippRegistrar(user="trunk1", password="pw") as sipp:
        target = sipp.target()

Peers listen on free loopback ports only, run in the foreground (``-DD -E`` for Kamailio)
with their logs in a temp dir, and are stopped by SIGTERM to the PID we started.
See docs/sip-peers.md for the gotchas these classes encode.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from trunkline.sip import Target

PEERS_DIR = Path(__file__).resolve().parent / "peers"
KAMAILIO_CFG = PEERS_DIR / "kamailio-registrar.cfg"
KAMAILIO_INVITE_AUTH_CFG = PEERS_DIR / "kamailio-invite-auth.cfg"
KAMAILIO_CARRIER_CFG = PEERS_DIR / "kamailio-carrier.cfg"
SIPP_REGISTRAR_XML = PEERS_DIR / "sipp_uas_register_auth.xml"
DEFAULT_USERS = {"trunk1": "s3cret-pw", "alice": "alicepw"}
_RX_LINE = re.compile(r"TRUNKLINE-RX method=(\S+) callid=(\S+) cseq=(\d+) src=(\S+) expires=(\S*)")


def find_binary(name: str) -> str | None:
    """Path of ``name``; also looks in sbin dirs that a non-root PATH may lack."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def free_port(hosts: tuple[str, ...] = ("127.0.0.1",)) -> int:
    """A port free for both UDP and TCP on every given host (racy, but fine on loopback)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        try:
            for host in hosts:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    with socket.socket(family, kind) as sock:
                        sock.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port found")


def write_self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """Self-signed cert valid for IP:127.0.0.1, IP:::1 and localhost; returns (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trunkline-test-peer")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def sip_options_answered(host: str, port: int, timeout_s: float = 0.3) -> bool:
    """Blocking readiness probe: does a UDP OPTIONS get any SIP response?"""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(timeout_s)
        lport = sock.getsockname()[1]
        hp = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lhp = f"[{host}]:{lport}" if ":" in host else f"{host}:{lport}"
        msg = (
            f"OPTIONS sip:{hp} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {lhp};rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:ready@{lhp}>;tag=1\r\nTo: <sip:{hp}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        try:
            sock.sendto(msg.encode(), (host, port))
            return sock.recv(65535).startswith(b"SIP/2.0 ")
        except OSError:
            return False


def tcp_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


class _Process:
    """Shared start/stop plumbing for a foreground peer process."""

    name = "peer"

    def __init__(self, workdir: Path | None) -> None:
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"trunkline-{self.name}-"))
        self.log_path = self.workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _spawn(self, argv: list[str]) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )

    def _wait_ready(self, ready: list[tuple[str, int, str]], timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(ready)
        while pending:
            assert self.proc is not None
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"{self.name} exited ({code}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not ready in {timeout_s}s:\n{self.log_tail()}")
            host, port, kind = pending[0]
            ok = tcp_accepts(host, port) if kind == "tcp" else sip_options_answered(host, port)
            if ok:
                pending.pop(0)
            else:
                time.sleep(0.05)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


class KamailioPeer(_Process):
    """Kamailio registrar (one digest algorithm) on UDP+TCP [+TLS], IPv4 [+IPv6] loopback."""

    name = "kamailio"

    def __init__(
        self,
        *,
        algo: Literal["MD5", "SHA-256"] = "MD5",
        users: dict[str, str] | None = None,
        realm: str = "siplab.test",
        tls: bool = False,
        ipv6: bool = True,
        min_expires: int = 60,
        children: int = 2,
        log_level: int = 2,
        workdir: Path | None = None,
        config: Path = KAMAILIO_CFG,
        defines: dict[str, str] | None = None,
    ) -> None:
        super().__init__(workdir)
        self.config = config  # e.g. KAMAILIO_INVITE_AUTH_CFG for a carrier challenging INVITEs
        self.defines = dict(defines or {})  # more -A NAME=VALUE (e.g. CALLEE for the carrier)
        self.algo, self.realm, self.tls, self.ipv6 = algo, realm, tls, ipv6
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.min_expires, self.children, self.log_level = min_expires, children, log_level
        self.host = "127.0.0.1"
        self.port = 0  # UDP and TCP (and IPv6 UDP/TCP when enabled)
        self.tls_port: int | None = None
        self.cert_path: Path | None = None

    @staticmethod
    def available() -> bool:
        return find_binary("kamailio") is not None

    def start(self) -> KamailioPeer:
        binary = find_binary("kamailio")
        if binary is None:
            raise RuntimeError("kamailio is not installed")
        db = self.workdir / "db"
        db.mkdir(exist_ok=True)
        # The ha1/ha1b columns must be "(string,null)" or db_text drops the whole table.
        rows = [
            f"{i}:{user}:{self.realm}:{password}:::"
            for i, (user, password) in enumerate(self.users.items(), start=1)
        ]
        header = "id(int,auto) username(string) domain(string) password(string) "
        header += "ha1(string,null) ha1b(string,null)"
        (db / "subscriber").write_text("\n".join([header, *rows]) + "\n")
        hosts = ("127.0.0.1", "::1") if self.ipv6 else ("127.0.0.1",)
        self.port = free_port(hosts)
        argv = [
            binary, "-f", str(self.config), "-DD", "-E", "-m", "32", "-M", "4",
            "-n", str(self.children), "-Y", str(self.workdir), "-P", str(self.workdir / "k.pid"),
            "-A", f'DBURL="text://{db}"', "-A", f'REALM="{self.realm}"',
            "-A", f'ALGO="{self.algo}"', "-A", f"MINEXP={self.min_expires}",
            "-A", f"LOGLVL={self.log_level}",
        ]  # fmt: skip
        for name, value in self.defines.items():
            argv += ["-A", f"{name}={value}"]
        for host in hosts:
            h = f"[{host}]" if ":" in host else host
            argv += ["-l", f"udp:{h}:{self.port}", "-l", f"tcp:{h}:{self.port}"]
        if self.tls:
            self.tls_port = free_port(("127.0.0.1",))
            self.cert_path, key_path = write_self_signed_cert(self.workdir)
            tls_cfg = self.workdir / "tls.cfg"
            tls_cfg.write_text(
                "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
                f"require_certificate = no\nprivate_key = {key_path}\n"
                f"certificate = {self.cert_path}\n\n"
                "[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
                "require_certificate = no\n"
            )
            argv += ["-A", "WITH_TLS", "-A", f'TLSCFG="{tls_cfg}"']
            argv += ["-l", f"tls:127.0.0.1:{self.tls_port}"]
        self._spawn(argv)
        ready = [(self.host, self.port, "tcp"), (self.host, self.port, "udp")]
        if self.ipv6:
            ready.append(("::1", self.port, "udp"))
        if self.tls_port:
            ready.append((self.host, self.tls_port, "tcp"))
        self._wait_ready(ready)
        return self

    def __enter__(self) -> KamailioPeer:
        return self.start()

    def target(
        self, transport: Literal["udp", "tcp", "tls"] = "udp", *, ipv6: bool = False
    ) -> Target:
        if transport == "tls":
            assert self.tls_port is not None and self.cert_path is not None, "started without tls"
            return Target("127.0.0.1", self.tls_port, "tls", tls_ca_file=str(self.cert_path))
        return Target("::1" if ipv6 else self.host, self.port, transport)

    def received(
        self, method: str | None = None, call_id: str | None = None
    ) -> list[dict[str, str]]:
        """Requests the registrar logged (via its xlog line), oldest first."""
        seen = []
        for m in _RX_LINE.finditer(self.log_text()):
            keys = ("method", "call_id", "cseq", "src", "expires")
            entry = dict(zip(keys, m.groups(), strict=True))
            if (method is None or entry["method"] == method) and (
                call_id is None or entry["call_id"] == call_id
            ):
                seen.append(entry)
        return seen


class SippRegistrar(_Process):
    """SIPp as a tiny MD5 registrar (UDP only): 401 then verifyauth -> 200 or 403."""

    name = "sipp"

    def __init__(
        self, *, user: str = "trunk1", password: str = "s3cret-pw", workdir: Path | None = None
    ) -> None:
        super().__init__(workdir)
        self.user, self.password = user, password
        self.host = "127.0.0.1"
        self.port = 0

    @staticmethod
    def available() -> bool:
        return find_binary("sipp") is not None

    def start(self) -> SippRegistrar:
        binary = find_binary("sipp")
        if binary is None:
            raise RuntimeError("sipp is not installed")
        self.port = free_port()
        # An explicit -p matters: with -p 0 SIPp still writes 5060 into its messages.
        self._spawn(
            [
                binary, "-sf", str(SIPP_REGISTRAR_XML), "-t", "u1", "-i", self.host,
                "-p", str(self.port), "-nostdin", "-nd",
                "-set", "user", self.user, "-set", "pass", self.password,
            ]
        )  # fmt: skip
        self._wait_ready([(self.host, self.port, "udp")])
        return self

    def __enter__(self) -> SippRegistrar:
        return self.start()

    def target(self) -> Target:
        return Target(self.host, self.port, "udp")


_SIPP_BLOCK = re.compile(r"^-{20,} \S+ \S+\n(\w+) message (sent|received)[^\n]*\n\n", re.MULTILINE)


class SippRun:
    """One finished SIPp client/server run: exit code, its screen output and message trace.

    SIPp exits 0 when every call succeeded, 1 when at least one failed (RFC-wise: an
    unexpected message or a timeout in its scenario).
    """

    def __init__(self, returncode: int, screen: str, message_file: Path) -> None:
        self.returncode = returncode
        self.screen = screen
        self.trace = message_file.read_text(errors="replace") if message_file.exists() else ""

    def messages(self) -> list[tuple[str, str]]:
        """(``"sent"`` | ``"received"``, start line) of every message SIPp traced, in order."""
        found = []
        for match in _SIPP_BLOCK.finditer(self.trace):
            rest = self.trace[match.end() :]
            found.append((match.group(2), rest.split("\n", 1)[0].strip()))
        return found

    def count(self, direction: str, start: str) -> int:
        """How many messages SIPp sent/received whose start line begins with ``start``."""
        return sum(1 for d, line in self.messages() if d == direction and line.startswith(start))

    def message_texts(self, direction: str, start: str) -> list[str]:
        """Full text of the matching traced messages."""
        texts = []
        for match in _SIPP_BLOCK.finditer(self.trace):
            body = self.trace[match.end() :]
            end = _SIPP_BLOCK.search(body)
            text = body[: end.start()] if end else body
            if match.group(2) == direction and text.startswith(start):
                texts.append(text)
        return texts


def sipp_argv(
    args: list[str], *, port: int, workdir: Path, transport: str = "u1", host: str = "127.0.0.1"
) -> tuple[list[str], Path]:
    """SIPp command line with the habits of sip-testing.md: explicit -p, -nd, a message trace."""
    binary = find_binary("sipp")
    if binary is None:
        raise RuntimeError("sipp is not installed")
    message_file = workdir / f"sipp-{port}-messages.log"
    argv = [
        binary, "-i", host, "-p", str(port), "-t", transport, "-nd", "-nostdin",
        "-trace_msg", "-message_file", str(message_file), *args,
    ]  # fmt: skip
    return argv, message_file


async def run_sipp(
    args: list[str], *, workdir: Path, transport: str = "u1", timeout_s: float = 30.0
) -> SippRun:
    """Run SIPp to completion without blocking the event loop (the SIP edge shares it)."""
    import asyncio

    port = free_port()
    argv, message_file = sipp_argv(args, port=port, workdir=workdir, transport=transport)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return SippRun(proc.returncode, out.decode(errors="replace"), message_file)


class SippServer(_Process):
    """SIPp as a UAS (built-in ``-sn uas`` or a scenario file) listening on a free port."""

    name = "sipp-uas"

    def __init__(
        self,
        args: list[str],
        *,
        transport: str = "u1",
        workdir: Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        super().__init__(workdir)
        self.args, self.transport = args, transport
        self.host = host
        self.port = port or 0
        self.message_file: Path | None = None

    def start(self) -> SippServer:
        self.port = self.port or free_port()
        argv, self.message_file = sipp_argv(
            self.args,
            port=self.port,
            workdir=self.workdir,
            transport=self.transport,
            host=self.host,
        )
        self._spawn(argv)
        ready_kind = "tcp" if self.transport.startswith("t") else "bound"
        deadline = time.monotonic() + 10.0
        while True:  # a UAS scenario need not answer OPTIONS: wait for the socket instead
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"sipp exited ({self.proc.returncode}):\n{self.log_tail()}")
            if ready_kind == "tcp" and tcp_accepts(self.host, self.port):
                break
            if ready_kind == "bound" and not _udp_port_free(self.host, self.port):
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sipp not ready:\n{self.log_tail()}")
            time.sleep(0.02)
        return self

    def __enter__(self) -> SippServer:
        return self.start()

    def finish(self, timeout_s: float = 10.0) -> SippRun:
        """Wait for SIPp to exit (use ``-m N`` so it does) and return its results."""
        assert self.proc is not None and self.message_file is not None
        try:
            returncode = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            returncode = -1
        run = SippRun(returncode, self.log_text(), self.message_file)
        return run

    def target(self) -> Target:
        transport: Literal["udp", "tcp"] = "tcp" if self.transport.startswith("t") else "udp"
        return Target(self.host, self.port, transport)


def _udp_port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
