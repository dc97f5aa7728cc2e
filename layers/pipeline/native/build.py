"""Build the validation kernel `_fastrows` (fastrows.c) as a stable-ABI extension.

    python layers/pipeline/native/build.py                  # for this interpreter, in place
    python layers/pipeline/native/build.py --cc aarch64-linux-gnu-gcc --site DIR  # into a layer's python/

One build serves every CPython from 3.11 on (limited API, `.abi3.so`). The layer build cross-compiles
for arm64 with Debian's `gcc-aarch64-linux-gnu` against this interpreter's headers, which the
limited API keeps independent of the architecture. Without the kernel the validator runs its pure
Python path (same results, slower).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "fastrows.c"
MODULE = "_fastrows.abi3.so"
IN_PACKAGE = Path("tenant_pipeline", "validation")
FLAGS = ["-O3", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden"]


def build(cc: str = "cc", site: Path = HERE.parent) -> Path:
    """Compile the kernel into the `tenant_pipeline` package found in `site`; returns the module's path."""
    if shutil.which(cc) is None:
        raise FileNotFoundError(f"C compiler {cc!r} not found")
    out = site / IN_PACKAGE
    target = out / MODULE
    include = sysconfig.get_paths()["include"]
    if not out.is_dir():
        raise FileNotFoundError(f"no {IN_PACKAGE} folder in {site}")
    subprocess.run([cc, *FLAGS, f"-I{include}", str(SOURCE), "-o", str(target)], check=True)
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", default="cc", help="C compiler (default: cc)")
    parser.add_argument("--site", type=Path, default=HERE.parent, help="folder holding tenant_pipeline/")
    args = parser.parse_args(argv)
    print(build(args.cc, args.site))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
