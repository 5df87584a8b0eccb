"""Build the TOTEM reader's C walk (``transform/_totem_walk.c``) in place, against the installed lxml.

Run by the Makefile's install step (``python -m transform.build_native``). It needs a C compiler and
Python's headers; when it cannot build, it says so in one line and exits 0: the reader then reads
lines in Python (same output, slower). Built again only when the source or the lxml version changed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

import lxml
from lxml import etree

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "_totem_walk.c"


def target() -> Path:
    return HERE / f"_totem_walk{sysconfig.get_config_var('EXT_SUFFIX')}"


def _stamp() -> str:
    """What the module is built from: its source, lxml's version and the compiler (``CC``)."""
    return f"{SOURCE.stat().st_mtime_ns} {SOURCE.stat().st_size} lxml {etree.__version__} {os.environ.get('CC', 'gcc')}"


def build(force: bool = False) -> bool:
    """Whether the module was built (False: already built from this source for this lxml);
    ``RuntimeError`` with the compiler's message when it cannot be built."""
    out, stamp_file = target(), HERE / "_totem_walk.stamp"
    if not force and out.exists() and stamp_file.exists() and stamp_file.read_text() == _stamp():
        return False
    lxml_dir = Path(lxml.__file__).parent
    includes = [sysconfig.get_paths()["include"], lxml_dir / "includes", lxml_dir / "includes" / "libxml",
                lxml_dir, lxml_dir.parent]
    command = [*shlex.split(os.environ.get("CC", "gcc")), "-shared", "-fPIC", "-O2", "-Wall",
               "-fvisibility=hidden", *(f"-I{path}" for path in includes), str(SOURCE), "-o", str(out) + ".tmp"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError((done.stderr or done.stdout).strip().splitlines()[-1] if (done.stderr or done.stdout)
                           else f"{command[0]} exited with {done.returncode}")
    os.replace(str(out) + ".tmp", out)
    stamp_file.write_text(_stamp())
    return True


def main() -> int:
    try:
        built = build(force="--force" in sys.argv)
    except (OSError, RuntimeError) as error:
        print(f"the TOTEM reader's C walk was not built ({error}); TOTEM lines will be read in Python", file=sys.stderr)
        return 0
    print(f"{'built' if built else 'up to date:'} {target().relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
