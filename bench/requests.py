"""What each scenario sends, written once for both drivers: wrk (a Lua script) and loadgen (Python).

A scenario is a ``Workload``: a request *kind*, the path, the bearer token and, for kinds that
need varying data, a file of lines (numbers, ``number agent_uuid`` pairs, keys). Every request
is HTTP/1.1 keep-alive on loopback.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

# Gateways in bench bodies are loopback addresses: even if a SIP monitor were running it would
# only ever probe this machine.
SIP = {"gateway": "127.0.0.1", "port": 5060, "username": "bench-user", "password": "bench-pass"}


@dataclass(frozen=True)
class Workload:
    # trunk_post | snapshot_get | id_get | fixed_get | connection_post | agent_post | item_post
    # | item_get
    kind: str
    path: str
    token: str
    data: str | None = None  # file of lines, see the module docstring
    key_prefix: str = "k"  # item_post: unique keys per run

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Workload:
        return cls(**json.loads(text))


def _lines(path: str | None) -> list[str]:
    assert path is not None
    lines = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    assert lines, f"{path} is empty"
    return lines


def trunk_body(number: str, agent: str, i: int) -> str:
    sip = {**SIP, "password": f"bench-pass-{i}"}
    return json.dumps(
        {"phone_number": number, "agent_uuid": agent, "channel": "call", "sip": sip},
        separators=(",", ":"),
    )


def connection_body(i: int) -> str:
    return json.dumps(
        {
            "name": f"bench connection {i}",
            "phone_number": "+14155550100",
            "gateway": "127.0.0.1",
            "username": "bench-user",
            "password": f"bench-pass-{i}",
        },
        separators=(",", ":"),
    )


def agent_body(i: int) -> str:
    return json.dumps({"name": f"bench agent {i}"}, separators=(",", ":"))


def item_body(key: str) -> str:
    return json.dumps({"key": key, "value": "bench value"}, separators=(",", ":"))


def python_requests(w: Workload, host: str) -> Iterator[bytes]:
    """Endless raw HTTP/1.1 requests for the Python driver."""
    head = f"Host: {host}\r\nAuthorization: Bearer {w.token}\r\nConnection: keep-alive\r\n"

    def get(path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\n{head}\r\n".encode()

    def post(body: str) -> bytes:
        data = body.encode()
        return (
            f"POST {w.path} HTTP/1.1\r\n{head}Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode() + data

    i = 0
    if w.kind == "trunk_post":
        pairs = [line.split() for line in _lines(w.data)]
        while True:
            number, agent = pairs[i % len(pairs)]
            i += 1
            yield post(trunk_body(number, agent, i))
    elif w.kind in ("snapshot_get", "item_get", "id_get"):
        values = _lines(w.data)
        while True:
            value = random.choice(values).replace("+", "%2B")
            yield get(w.path.format(value))
    elif w.kind == "fixed_get":
        raw = get(w.path)
        while True:
            yield raw
    elif w.kind == "connection_post":
        while True:
            i += 1
            yield post(connection_body(i))
    elif w.kind == "agent_post":
        while True:
            i += 1
            yield post(agent_body(i))
    elif w.kind == "item_post":
        while True:
            i += 1
            yield post(item_body(f"{w.key_prefix}-{i}"))
    else:
        raise ValueError(f"unknown kind {w.kind}")


_LUA_COMMON = r"""
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
local path = "{path}"
local lines = {{}}
local data = "{data}"
if data ~= "" then
  for l in io.lines(data) do if #l > 0 then lines[#lines + 1] = l end end
end
math.randomseed(os.time())
local i = 0
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d}}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

_LUA_REQUEST = {
    "trunk_post": r"""
request = function()
  i = i + 1
  local number, agent = lines[((i - 1) % #lines) + 1]:match("(%S+) (%S+)")
  local body = string.format('{{"phone_number":"%s","agent_uuid":"%s","channel":"call",' ..
    '"sip":{{"gateway":"{gw}","port":{port},"username":"{user}","password":"bench-pass-%d"}}}}',
    number, agent, i)
  return wrk.format("POST", path, nil, body)
end
""",
    "snapshot_get": r"""
request = function()
  local v = lines[math.random(#lines)]:gsub("%+", "%%2B")
  return wrk.format("GET", string.format(path, v))
end
""",
    "item_get": r"""
request = function()
  return wrk.format("GET", string.format(path, lines[math.random(#lines)]))
end
""",
    "id_get": r"""
request = function()
  return wrk.format("GET", string.format(path, lines[math.random(#lines)]))
end
""",
    "agent_post": r"""
request = function()
  i = i + 1
  return wrk.format("POST", path, nil, string.format('{{"name":"bench agent %d"}}', i))
end
""",
    "fixed_get": r"""
request = function()
  return wrk.format("GET", path)
end
""",
    "connection_post": r"""
request = function()
  i = i + 1
  local body = string.format('{{"name":"bench connection %d","phone_number":"+14155550100",' ..
    '"gateway":"127.0.0.1","username":"bench-user","password":"bench-pass-%d"}}', i, i)
  return wrk.format("POST", path, nil, body)
end
""",
    "item_post": r"""
request = function()
  i = i + 1
  local body = string.format('{{"key":"{prefix}-%d","value":"bench value"}}', i)
  return wrk.format("POST", path, nil, body)
end
""",
}


def lua_script(w: Workload) -> str:
    """The wrk script of a workload (``{}`` in the path becomes Lua's ``%s``)."""
    fields = {
        "token": w.token,
        "path": w.path.replace("%", "%%").replace("{}", "%s"),
        "data": w.data or "",
        "gw": SIP["gateway"],
        "port": SIP["port"],
        "user": SIP["username"],
        "prefix": w.key_prefix,
    }
    return (_LUA_COMMON + _LUA_REQUEST[w.kind]).format(**fields)
