"""What every copy of the recording handler shares: the runtime loads private copies of a handler
module (one per concurrent execution environment, one per region), each with its own `CALLS`, but
they all import this one module."""

from __future__ import annotations

import threading
from typing import Any

EVENTS: list[dict[str, Any]] = []
"""Events of asynchronous invocations, whichever copy of the handler ran them."""
GATE = threading.Event()
"""Opened by a test once an asynchronous invoke has answered."""
ENTERED = threading.Event()
"""Set by a handler once it runs and waits for the gate."""
