"""Consolidation of a year: the duplicate rule, modifications applied in order, the current flag."""

from __future__ import annotations

import copy
import json

from tests.decp.reference_table import table_rows
from tests.decp.test_formats_normalise import MARCHE_2019, MARCHE_2022
from transform.decp_consolidate import consolidate, current_objects, loaded, versions
from transform.decp_output import counts_by_file, reject_rows
from transform.decp_staging import rows_of_file


def _rows(objects: list[dict], name: str, night: str = "2025-03-04", shape: str = "2022") -> list[dict]:
    document = {"marches": {"marche": objects}} if shape == "2022" else {"marches": objects}
    rows, _ = rows_of_file(json.dumps(document).encode(), f"raw/decp/drop/date={night}/{name}", "drop", night)
    return rows


def _modified(base: dict, *modifications: dict) -> dict:
    data = copy.deepcopy(base)
    data["modifications"] = [{"modification": m} for m in modifications]
    return data


MOD_1 = {"id": 1, "dateNotificationModification": "2025-02-20", "datePublicationDonneesModification": "2025-02-21",
         "montant": 52000.0}
MOD_2 = {"id": 2, "dateNotificationModification": "2025-02-25", "datePublicationDonneesModification": "2025-02-26",
         "dureeMois": 9, "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": "71614685706006"}}]}


def test_the_version_with_most_modifications_is_kept_whatever_the_order():
    first = _rows([MARCHE_2022], "a.json", "2025-03-03")
    later = _rows([_modified(MARCHE_2022, MOD_1)], "b.json", "2025-03-04")
    for rows in (first + later, later + first):
        result = consolidate(rows)
        assert [r["file_key"].rsplit("/", 1)[1] for r in result.kept] == ["b.json"]
        assert [(d["file_name"], k["file_name"]) for d, k in result.duplicates] == [("a.json", "b.json")]


def test_exact_copies_keep_the_latest_received():
    rows = _rows([MARCHE_2022, MARCHE_2022], "a.json")
    result = consolidate(rows)
    assert [r["position"] for r in result.kept] == [2]
    rejects = reject_rows(result)
    assert [(r["statut"], r["position"]) for r in rejects] == [("doublon", 1)]
    assert "a.json n°2" in rejects[0]["message"]


def test_the_2022_format_wins_over_2019_for_the_same_contract():
    same = {**MARCHE_2019, "id": MARCHE_2022["id"], "dateNotification": MARCHE_2022["dateNotification"],
            "titulaires": [{"typeIdentifiant": "SIRET", "id": "31644852108826", "denominationSociale": "Iroise"}]}
    rows = _rows([same], "h.json", "2025-03-05", "2019") + _rows([MARCHE_2022], "a.json", "2025-03-03")
    result = consolidate(rows)
    assert [r["version"] for r in result.kept] == ["2.0.2"]


def test_same_uid_other_titulaires_are_two_contracts_both_current():
    lot = copy.deepcopy(MARCHE_2022)
    lot["titulaires"] = [{"titulaire": {"typeIdentifiant": "SIRET", "id": "71614685706006"}}]
    result = consolidate(_rows([MARCHE_2022, lot], "a.json"))
    assert len(result.kept) == 2 and not result.duplicates
    assert len(current_objects(result.kept)) == 2


def test_a_later_notification_of_the_same_uid_supersedes_the_earlier():
    renotified = {**MARCHE_2022, "dateNotification": "2025-02-28"}
    result = consolidate(_rows([MARCHE_2022, renotified], "a.json"))
    assert current_objects(result.kept) == {(result.kept[1]["file_key"], 2)}


def test_modifications_are_applied_in_id_order():
    data = _modified(MARCHE_2022, MOD_2, MOD_1)  # sent out of order
    row = _rows([data], "a.json")[0]
    steps = versions(loaded(row), "marche", "2.0.2")
    assert [(v.modification_id, v.amount, v.duration, [h["id"] for h in v.holders]) for v in steps] == [
        (0, 48000.0, 6, ["31644852108826"]),
        (1, 52000.0, 6, ["31644852108826"]),
        (2, 52000.0, 9, ["71614685706006"]),
    ]


def test_2019_modifications_follow_their_publication_dates():
    data = copy.deepcopy(MARCHE_2019)
    data["modifications"] = [
        {"objetModification": "B", "dateNotificationModification": "2019-01-01", "datePublicationDonneesModification": "2020-03-01", "montant": 3.0},
        {"objetModification": "A", "dateNotificationModification": "2020-01-01", "datePublicationDonneesModification": "2020-02-01", "montant": 2.0},
    ]
    row = _rows([data], "h.json", shape="2019")[0]
    assert [(v.objet, v.amount) for v in versions(loaded(row), "marche", "1.5.0")] == [(None, 127000.0), ("A", 2.0), ("B", 3.0)]


def test_table_has_one_row_per_version_and_titulaire_and_flags_the_current_one():
    rows = table_rows(consolidate(_rows([_modified(MARCHE_2022, MOD_1, MOD_2)], "a.json")).kept)
    assert [(r["modification_id"], r["montant"], r["titulaire_id"], r["donneesActuelles"]) for r in rows] == [
        (0, 48000.0, "31644852108826", False),
        (1, 52000.0, "31644852108826", False),
        (2, 52000.0, "71614685706006", True),
    ]
    assert rows[2]["dateModification"] == "2025-02-25"


def test_every_object_read_is_published_or_rejected():
    bad = {**MARCHE_2022, "id": "X2", "acheteur": {"id": "NC"}}
    rows = _rows([MARCHE_2022, MARCHE_2022, bad], "a.json")
    result = consolidate(rows)
    counts = counts_by_file(result)["raw/decp/drop/date=2025-03-04/a.json"]
    assert (counts["published"], counts["duplicates"], counts["invalid"]) == (1, 1, 1)
    rejects = reject_rows(result)
    invalid = [r for r in rejects if r["statut"] == "invalide"]
    assert {(r["champ"], r["code"]) for r in invalid} == {("acheteur", "required"), ("acheteur/id", "anomalie")}


def test_a_staged_text_loads_as_json_reads_it_even_where_the_fast_reader_refuses():
    texts = ['{"objet": "Travaux é", "montant": 52000.0, "dureeMois": 12, "id": 123456789012345678901234567890}',
             '{"objet": "\\ud800 seul", "montant": 1e400}', '{"montant": NaN}']
    for text in texts:
        assert repr(loaded({"object_json": text})) == repr(json.loads(text))
