"""A night of the drop folder whose every retry failed, and that nobody reran, is read by the next night.

The demo's three nights from a fresh drop folder: the second night's run fails (a full disk while its
folder is copied into the raw zone), the third runs as usual. What the regional files show must be
what three good nights publish.
"""

from __future__ import annotations

import errno

import pandas as pd
import pytest

from chains import actes as actes_chain
from samples.actes import DEMO_NIGHTS
from tests.replay import demo_inputs


def _published(store) -> set[tuple[str, str]]:
    """Each act of the regional actes files, by its body and source id."""
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False)
              for path in sorted((store / "public" / "actes").glob("actes-[0-9][0-9][0-9][0-9].csv"))]
    return {(row.COLL_SIRET, row.SOURCE_ID) for frame in frames for row in frame.itertuples()}


def _raise(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_night_whose_folder_was_never_copied_is_read_by_the_next_night(tmp_path, monkeypatch):
    good = demo_inputs(tmp_path / "good")
    with good.active() as settings:
        for night in DEMO_NIGHTS:
            actes_chain.CHAIN.run_night(settings, night)

    failing = demo_inputs(tmp_path / "failing")
    settings = failing.apply(monkeypatch)
    first, failed, following = DEMO_NIGHTS
    actes_chain.CHAIN.run_night(settings, first)
    with monkeypatch.context() as patch:
        patch.setattr(actes_chain, "extract_night", _raise)
        with pytest.raises(OSError):
            actes_chain.CHAIN.run_night(settings, failed)
    actes_chain.CHAIN.run_night(settings, following)
    assert _published(failing.store) == _published(good.store), "the failed night's acts are all published"
