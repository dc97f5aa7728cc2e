"""Spill pieces of one pass written by different processes are joined by partition: a key must land
in the same partition whatever the process's string hash salt (`PYTHONHASHSEED`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_SPILL = """
import json
from tenant_pipeline.validation import KeyTracker
with KeyTracker(max_keys=1, partitions=8) as keys:
    keys.check(range(40), [f"id-{n}" for n in range(40)])
    print(json.dumps({p: piece.read().decode() for p, piece in keys.spill_pieces()}))
"""


def _pieces(seed: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", _SPILL], env=env, capture_output=True, check=True, text=True)
    return dict(json.loads(done.stdout))


def test_a_string_key_spills_to_the_same_partition_in_every_process() -> None:
    first, second = _pieces("1"), _pieces("2")
    assert len(first) > 1  # the keys spread over several partitions
    assert first == second
