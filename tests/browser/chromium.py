"""Debian's chromium, headless: found, or installed with apt-get when the machine allows it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INSTALL_TIMEOUT_S = 900


class ChromiumUnavailableError(RuntimeError):
    """Chromium is absent and could not be installed here."""


def find_or_install_chromium() -> str:
    """The chromium binary; installs Debian's package when absent (root, apt-get), or says why not."""
    found = shutil.which("chromium")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise ChromiumUnavailableError("chromium is not installed and apt-get cannot run here (needs root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
    ):
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=INSTALL_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            raise ChromiumUnavailableError(f"{' '.join(command)} failed: {result.stderr.strip()[-300:]}")
    found = shutil.which("chromium")
    if not found:
        raise ChromiumUnavailableError("apt-get installed chromium but no chromium binary is on PATH")
    return found


def run_headless(chromium: str, url: str, *extra: str, timeout_s: float = 120) -> str:
    """Chromium's stdout for `url` with a fresh profile (for `--dump-dom`, the DOM after scripts ran)."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        result = subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "--window-size=1400,900", *extra, url],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    if result.returncode != 0:
        raise AssertionError(f"chromium exited {result.returncode}: {result.stderr[-500:]}")
    return result.stdout


def file_url(path: Path, fragment: str = "") -> str:
    return path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
