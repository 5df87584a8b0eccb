"""``digor convert decp`` and ``digor run decp``: the chain's code from the command line."""

from __future__ import annotations

import json

from core.config import PROJECT_ROOT
from digor.cli import main
from samples.decp import generate_decp_exports


def test_convert_decp_writes_the_year_files_and_a_balanced_report(reference_dir, tmp_path, capsys):
    samples = reference_dir / "samples"
    files = [samples / "decp-2022/format-commande-publique/xml/Marche.xml",
             samples / "decp-2022/format-commande-publique/json/marches_concessions.json",
             samples / "decp-2019/format-commande-publique/json/paquet.json"]
    out = tmp_path / "out"
    assert main(["convert", "decp", *map(str, files), "--out", str(out), "--date", "2025-06-30"]) == 0
    printed = capsys.readouterr().out
    assert "Marche.xml (2022): 2 read = 1 published + 1 rejected" in printed
    assert {p.name for p in out.iterdir()} >= {"decp-2024.json", "decp-2024.csv", "decp-2024.parquet",
                                              "decp-2007-format-2019.json", "rejets", "rapport.json"}
    report = json.loads((out / "rapport.json").read_text(encoding="utf-8"))
    assert all(f["balanced"] for f in report["files"])


def test_convert_decp_files_have_the_mode_of_new_files_or_of_those_they_replace(reference_dir, tmp_path):
    """The files are taken out of the throwaway store (whose own files only its owner reads) as copies would be."""
    import os

    export = reference_dir / "samples" / "decp-2022/format-commande-publique/json/marches_concessions.json"
    out = tmp_path / "out"
    umask = os.umask(0o022)
    try:
        assert main(["convert", "decp", str(export), "--out", str(out), "--date", "2025-06-30"]) == 0
        written = sorted(p for p in out.rglob("*") if p.is_file())
        assert written and {p.stat().st_mode & 0o777 for p in written} == {0o644}
        before = {p: p.read_bytes() for p in written}
        kept = next(p for p in written if p.suffix == ".csv")
        kept.chmod(0o640)
        assert main(["convert", "decp", str(export), "--out", str(out), "--date", "2025-06-30"]) == 0
        assert {p: p.read_bytes() for p in written} == before
        assert kept.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_convert_decp_fails_on_an_unreadable_file(tmp_path, capsys):
    broken = tmp_path / "export.json"
    broken.write_text('{"marches": {"marche": [', encoding="utf-8")
    assert main(["convert", "decp", str(broken), "--out", str(tmp_path / "out")]) == 1
    assert "unreadable: JSON illisible" in capsys.readouterr().out
    assert main(["convert", "decp", str(tmp_path / "absent.json"), "--out", str(tmp_path / "out")]) == 2


def test_run_decp_processes_a_night_without_a_scheduler(tmp_path, monkeypatch, capsys):
    drop = tmp_path / "decp-drop"
    summary = generate_decp_exports(drop, PROJECT_ROOT / "config" / "registry-demo.yaml")
    monkeypatch.setenv("DIGOR_DECP_DROP_DIR", str(drop))
    night = summary["nights"][0]
    assert main(["run", "decp", "--date", night, "--store", str(tmp_path / "store")]) == 0
    assert f"decp {night}:" in capsys.readouterr().out
    assert (tmp_path / "store" / "public" / "decp" / "decp-2024.json").is_file()


def test_run_passes_allow_shrink_to_the_chain(tmp_path, monkeypatch):
    from chains import decp as decp_chain

    seen = {}

    def run_night(settings, night, force_rebuild, progress, allow_shrink=False, on_wait=None):
        seen.update(night=night, force_rebuild=force_rebuild, allow_shrink=allow_shrink)
        return {"summary": [], "key": "private/reports/decp/x.json", "totals": {}}

    monkeypatch.setattr(decp_chain.CHAIN, "run_night", run_night)
    assert main(["run", "decp", "--date", "2025-03-04", "--allow-shrink", "--store", str(tmp_path)]) == 0
    assert seen == {"night": "2025-03-04", "force_rebuild": False, "allow_shrink": True}
