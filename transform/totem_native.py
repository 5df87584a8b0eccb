"""The C walk of TOTEM documents and plans de comptes (``transform/_totem_walk.c``), when built.

The install step builds it (``python -m transform.build_native``); where it is not built, or was built
for another lxml, the readers use their pure-Python reading, which gives the same records, and the log
says so once per process.
"""

from __future__ import annotations

import logging

try:
    from transform import _totem_walk as _native

    _NATIVE_MISSING = ""
except ImportError as missing:
    _native, _NATIVE_MISSING = None, str(missing)

log = logging.getLogger(__name__)
_said = False


def native_walk():
    """The C walk's module, None when it is not built (said once per process in the log)."""
    global _said
    if _native is None and not _said:
        _said = True
        log.info("TOTEM lines and plans de comptes are read in Python: the C walk is not built (%s); "
                 "`make install` builds it", _NATIVE_MISSING)
    return _native


def missing_reason() -> str:
    return _NATIVE_MISSING
