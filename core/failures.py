"""Failures a user can fix (a refused credential, a full disk, a bad setting), as opposed to bugs.

Clients raise an ``ExpectedFailure`` (or a subclass) with what failed and, in ``hint``, what
to do; ``digor``'s ``main`` prints that as one line and exits 1, the traceback only with
``--verbose``. In Airflow the same exception fails the task with its traceback in the task log.
"""

from __future__ import annotations

import errno


class ExpectedFailure(Exception):
    """What failed (the message) and what to do about it (``hint``)."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def one_line(error: BaseException) -> str:
    """The first line of the message, then the hint: what the user reads instead of a traceback."""
    if is_disk_full(error) and not isinstance(error, ExpectedFailure):
        where = f" writing {error.filename}" if getattr(error, "filename", None) else ""
        return f"no space left on the device{where}: free some space (or point DIGOR_STORE at a larger disk) and rerun"
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    hint = getattr(error, "hint", "")
    return f"{text}: {hint}" if hint and hint not in text else text
