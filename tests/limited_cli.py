"""Run `archscope` in a child process whose address space is capped, the way a hostile
input would meet a small machine: a refusal must come before any big allocation, so the
child exits 2 with one line instead of being killed or raising MemoryError."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ADDRESS_SPACE_BYTES = 3 * 2**30  # python + torch need about 1 GB of it; any model more
ROOT = Path(__file__).resolve().parents[1]


def _cap_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))


def run_archscope(*args: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, HF_HUB_OFFLINE="1", QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, preexec_fn=_cap_address_space)


def refusal_line(result: subprocess.CompletedProcess) -> str:
    """The child's one-line refusal: exit 2, no traceback, every stderr line ours."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("archscope: ") for line in lines), result.stderr[-2000:]
    return result.stderr.strip()
