"""The echo agent of ``bench.media_peer``: a minimal WebSocket server on raw sockets.

RFC 6455 as far as Trunkline's agent stream needs it: the upgrade, masked client frames in
(any length class, unmasked as one big-integer XOR), unmasked frames out, ping → pong, close →
close. A caller ``media`` frame is echoed as agent ``media`` with the same base64 text, found by
two ``find`` calls, not parsed as JSON; ``connected``, ``start`` and ``stop`` get no answer.
The agent's read and echo times of each tagged frame go into the shared :class:`Record`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import socket
import struct
import time
from array import array

FRAME_S = 0.020
TAG = 0x01  # first payload byte of a caller frame (silence frames start with 0xFF)
TAG_BYTES = 7  # TAG, caller index (16 bits), frame number (32 bits)
TAG_STRUCT = struct.Struct("!BHI")
HOST = "127.0.0.1"
_TAG = TAG_STRUCT
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MEDIA_START = b'{"event":"media"'
_PAYLOAD_KEY = b'"payload":"'
_ECHO_HEAD = b'{"event":"media","streamSid":"MZbench","media":{"payload":"'
_ECHO_TAIL = b'"}}'


class Record:
    """Per-frame times in flat arrays indexed ``caller * frames + n`` (no per-frame objects)."""

    def __init__(self, calls: int, frames: int) -> None:
        self.frames = frames
        self.sent = array("d", bytes(8 * calls * frames))
        self.agent_read = array("d", bytes(8 * calls * frames))
        self.agent_echo = array("d", bytes(8 * calls * frames))
        self.to_agent_ms = array("d")


class _AgentConnection:
    """One Trunkline → agent WebSocket, server side, on a raw non-blocking socket."""

    def __init__(self, agent: EchoAgent, sock: socket.socket) -> None:
        self.agent = agent
        self.sock = sock
        self.buffer = bytearray()
        self.out = bytearray()  # what the socket did not take yet
        self.upgraded = False
        agent.loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        self.buffer += chunk
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self._upgrade(bytes(self.buffer[:end]))
            del self.buffer[: end + 4]
        self._frames()

    def _upgrade(self, request: bytes) -> None:
        key = b""
        for line in request.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())
        self._send(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.upgraded = True

    def _frames(self) -> None:
        buffer = self.buffer
        start = 0
        while len(buffer) - start >= 6:
            opcode = buffer[start] & 0x0F
            length = buffer[start + 1] & 0x7F
            head = start + 2
            if length == 126:
                if len(buffer) - start < 8:
                    break
                length = int.from_bytes(buffer[head : head + 2], "big")
                head += 2
            elif length == 127:
                if len(buffer) - start < 14:
                    break
                length = int.from_bytes(buffer[head : head + 8], "big")
                head += 8
            if len(buffer) < head + 4 + length:
                break
            mask = bytes(buffer[head : head + 4])
            body = buffer[head + 4 : head + 4 + length]
            start = head + 4 + length
            # Unmask (RFC 6455 §5.3) as one big-integer XOR: no per-byte Python loop.
            key = (mask * (length // 4 + 1))[:length]
            payload = (int.from_bytes(body, "big") ^ int.from_bytes(key, "big")).to_bytes(
                length, "big"
            )
            if opcode == 1:
                self._text(payload)
            elif opcode == 8:
                self._send(_frame(8, payload[:2]))
                self.close()
                return
            elif opcode == 9:
                self._send(_frame(10, payload))
        del buffer[:start]

    def _text(self, message: bytes) -> None:
        if not message.startswith(_MEDIA_START):
            return  # connected, start, stop: nothing to answer
        read = time.time()
        begin = message.find(_PAYLOAD_KEY) + len(_PAYLOAD_KEY)
        payload = message[begin : message.find(b'"', begin)]
        record = self.agent.record
        tag = binascii.a2b_base64(payload[:12])
        slot = -1
        if tag[0] == TAG:
            _, caller, n = _TAG.unpack_from(tag)
            slot = caller * record.frames + n
            sent = record.sent[slot]
            if sent:
                record.to_agent_ms.append((read - sent) * 1000)
                record.agent_read[slot] = read
        self._send(_frame(1, _ECHO_HEAD + payload + _ECHO_TAIL))
        if slot >= 0:
            record.agent_echo[slot] = time.time()

    def _send(self, data: bytes) -> None:
        if self.out:
            self.out += data
            return
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return
        if sent < len(data):
            self.out += data[sent:]
            self.agent.loop.add_writer(self.sock.fileno(), self._writable)

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except BlockingIOError:
            return
        except OSError:
            sent = len(self.out)
        del self.out[:sent]
        if not self.out:
            self.agent.loop.remove_writer(self.sock.fileno())

    def close(self) -> None:
        loop = self.agent.loop
        loop.remove_reader(self.sock.fileno())
        loop.remove_writer(self.sock.fileno())
        self.sock.close()
        self.agent.connections.discard(self)


def _frame(opcode: int, payload: bytes) -> bytes:
    """A server frame (unmasked, FIN set)."""
    length = len(payload)
    if length < 126:
        return bytes((0x80 | opcode, length)) + payload
    if length < 65536:
        return bytes((0x80 | opcode, 126)) + length.to_bytes(2, "big") + payload
    return bytes((0x80 | opcode, 127)) + length.to_bytes(8, "big") + payload


class EchoAgent:
    """The listening socket of the echo agent."""

    def __init__(self, loop: asyncio.AbstractEventLoop, record: Record) -> None:
        self.loop = loop
        self.record = record
        self.connections: set[_AgentConnection] = set()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(1024)
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        loop.add_reader(self.sock.fileno(), self._accept)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections.add(_AgentConnection(self, conn))

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
