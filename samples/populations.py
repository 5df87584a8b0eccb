"""The demo's legal populations: a file of INSEE's shape for the registry's communes, made-up numbers.

Written as the archive INSEE publishes (``ensemble.zip`` holding ``donnees_communes.csv``,
semicolon-separated UTF-8), with a commune for every ``code_commune`` of the registry and for
the communes of the demo's SIRENE places, among filler communes; the same bytes on every run.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import yaml

from core.populations import COMMUNES_FILE

ARCHIVE = "ensemble.zip"
HEADER = "REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;PMUN;PCAP;PTOT"


def _row(code: str, name: str, municipale: int, a_part: int) -> str:
    departement, codcom = code[:2], code[2:]
    return f"53;Bretagne;{departement};{departement}1;{departement}99;{codcom};{name};{municipale};{a_part};{municipale + a_part}"


def populations_csv(communes: dict[str, tuple[str, int]], filler: int = 200, seed: int = 2022) -> str:
    """The CSV of ``communes`` (code -> (name, population municipale)) and ``filler`` more."""
    rng = random.Random(seed)
    rows = {code: (name, municipale, municipale // 50) for code, (name, municipale) in communes.items()}
    for number in range(filler):
        code = f"{('22', '35', '56')[number % 3]}{500 + number:03d}"
        rows.setdefault(code, (f"Commune {number}", int(rng.lognormvariate(6.7, 1.2)) + 30, rng.randint(0, 40)))
    return "\n".join([HEADER, *(_row(code, *rows[code]) for code in sorted(rows))]) + "\n"


def registry_communes(registry_path: Path) -> dict[str, tuple[str, int]]:
    """Each registry commune with a ``code_commune``, and a population drawn from its SIREN."""
    document = yaml.safe_load(Path(registry_path).read_text(encoding="utf-8"))
    found = {}
    for body in document.get("bodies") or []:
        if body.get("kind") == "commune" and body.get("code_commune"):
            name = str(body["name"]).removeprefix("Commune de ").removeprefix("Commune d'")
            found[str(body["code_commune"])] = (name, random.Random(str(body["siren"])).randint(800, 4_800))
    return found


def write_populations(folder: Path, registry_path: Path, places: dict[str, str] | None = None) -> Path:
    """``folder/ensemble.zip`` for the registry's communes and ``places`` (code -> name), fixed bytes."""
    from samples.sirene import PLACES

    communes = {code: (name.title(), 20_000 + int(code[2:]) * 37) for code, _, name in PLACES if code < "97"}
    communes.update({code: (name, 5_000) for code, name in (places or {}).items()})
    communes.update(registry_communes(registry_path))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ARCHIVE
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(COMMUNES_FILE, date_time=(2024, 12, 19, 12, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, populations_csv(communes).encode("utf-8"))
    return path
