"""Entry point of a benchmark child process: `python -m bench.harness.child module:function '{json args}'`."""

from __future__ import annotations

import importlib
import json
import sys

from bench.harness.rss import result_line


def main(argv: list[str]) -> int:
    target, raw_args = argv[0], argv[1] if len(argv) > 1 else "{}"
    module_name, _, func_name = target.partition(":")
    func = getattr(importlib.import_module(module_name), func_name)
    value = func(**json.loads(raw_args))
    sys.stdout.flush()
    print(result_line(value), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
