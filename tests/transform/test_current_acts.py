"""``current_acts`` of rows given by the caller: the ledger's decision where it has one, the staged one
else (a missing cell kept as it is), gated by the body's switches."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from core.ledger import ActState
from core.registry import Body, Registry
from transform.consolidate_actes import current_acts


def test_each_act_takes_its_own_state_decision_and_body_switches():
    rows = pd.DataFrame({
        "siren": ["213100557", "213100557", "200000002", "300000003"],
        "source": ["pastell", "pastell", "s2low", "pastell"],
        "source_id": ["a", "b", "c", "d"],
        "numero": ["1", "2", "3", "4"],
        "nature_code": ["1", "3", "1", "1"],
        "date_decision": [dt.date(2025, 1, day) for day in (1, 2, 3, 4)],
        "decision": ["pending", "published", "published", None],
        "decision_source": ["source", "source", "source", "source"],
        "decision_reason": [None, "r", np.nan, "s"],
        "main_file_name": ["a.pdf", "b.pdf", "c.pdf", "d.pdf"],
        "main_file_sha256": ["0" * 64, "1" * 64, "", "3" * 64],
    })
    registry = Registry("Région", "Région", (
        Body("213100557", "21310055700010", "Commune", "commune"),
        Body("200000002", "20000000200010", "Syndicat", "syndicat", publish_annexes=False, metadata_only=True),
    ))
    states = {("213100557", "pastell", "a"): ActState("published", "agent", "vu", "2025-01-05T00:00:00",
                                                      dt.date(2025, 1, 5))}
    acts = current_acts(None, registry, 2025, states, rows)
    assert acts["source_id"].tolist() == ["c", "a", "b", "d"]
    assert acts["decision"].tolist()[:3] == ["published", "published", "published"]
    assert pd.isna(acts["decision"].tolist()[3])
    assert acts["decision_source"].tolist() == ["source", "agent", "source", "source"]
    assert pd.isna(acts["decision_reason"].tolist()[0])  # as staged
    assert acts["decision_reason"].tolist()[1:] == ["vu", "r", "s"]
    assert acts["publication_date"].tolist() == [None, dt.date(2025, 1, 5), None, None]
    assert acts["online"].tolist() == [True, True, False, False]
    reasons = acts["offline_reason"].tolist()
    assert pd.isna(reasons[0]) and pd.isna(reasons[1]) and reasons[2] and reasons[3]
    assert acts["publish_annexes"].tolist() == [False, True, True, False]
    assert acts["metadata_only"].tolist() == [True, False, False, True]
