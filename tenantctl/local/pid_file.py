"""The record a running `tenantctl local up` leaves in its state folder, so other commands can find it.

`local env` reads the endpoint from it, `local down` the process to stop. It is removed when the
local AWS stops; a record whose process is gone is stale and ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

PID_FILE_NAME = "local-up.json"


@dataclass(frozen=True)
class RunningLocalAws:
    pid: int
    endpoint_url: str
    region: str

    @property
    def alive(self) -> bool:
        """The process exists and is a `tenantctl` (a pid reused by another program is not ours)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        cmdline = Path(f"/proc/{self.pid}/cmdline")
        if cmdline.is_file():
            return b"tenantctl" in cmdline.read_bytes()
        return True


def pid_file(state_dir: Path) -> Path:
    return state_dir / PID_FILE_NAME


def write_running(state_dir: Path, running: RunningLocalAws) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file(state_dir).write_text(json.dumps(asdict(running)) + "\n", encoding="utf-8")


def read_running(state_dir: Path) -> RunningLocalAws | None:
    """The local AWS started from this state folder, if its record is there and readable."""
    try:
        data = json.loads(pid_file(state_dir).read_text(encoding="utf-8"))
        return RunningLocalAws(int(data["pid"]), str(data["endpoint_url"]), str(data["region"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_running(state_dir: Path, pid: int) -> None:
    """Remove the record if it is this process's (a newer `local up` may have replaced it)."""
    running = read_running(state_dir)
    if running is not None and running.pid == pid:
        pid_file(state_dir).unlink(missing_ok=True)
