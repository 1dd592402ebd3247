"""The clients that load the servers: skopeo for push and pull, wrk for manifest GETs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from bench.servers import Server

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SKOPEO_TIMEOUT = 600
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def skopeo(*args: str) -> None:
    proc = subprocess.run(
        ["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=SKOPEO_TIMEOUT
    )
    if proc.returncode != 0:
        raise RuntimeError(f"skopeo {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")


def push(server: Server, layout: Path, repo: str) -> None:
    creds = ["--dest-creds", server.creds] if server.creds else []
    skopeo("copy", "--dest-tls-verify=false", *creds, f"oci:{layout}:v1", f"docker://{server.host}/{repo}:v1")


def pull(server: Server, repo: str, target: Path) -> None:
    creds = ["--src-creds", server.creds] if server.creds else []
    try:
        skopeo("copy", "--src-tls-verify=false", *creds, f"docker://{server.host}/{repo}:v1", f"dir:{target}")
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(out: str) -> dict[str, float]:
    """Requests/sec and latency (average, p50, p99 in ms) from `wrk --latency` output."""
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    avg = re.search(r"Latency\s+(\S+)", out)
    if not rps or not avg:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    result = {"rps": float(rps.group(1)), "latency_avg_ms": _ms(avg.group(1))}
    for pct in ("50", "99"):
        found = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.MULTILINE)
        if found:
            result[f"latency_p{pct}_ms"] = _ms(found.group(1))
    return result


def wrk(
    server: Server, path: str, seconds: int, headers: dict[str, str], threads: int = 2, connections: int = 16
) -> dict[str, float]:
    """GET `path` for `seconds` with wrk: req/s and latency (average, p50, p99 in ms)."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += [arg for name, value in {"Accept": OCI_MANIFEST, **headers}.items() for arg in ("-H", f"{name}: {value}")]
    argv.append(f"http://{server.host}{path}")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return parse_wrk(proc.stdout)
