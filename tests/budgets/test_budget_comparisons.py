"""The median of the communes of a band follows every night: a commune whose budgets did not change
shows the medians of its peers as they stand after the night that changed one of theirs."""

from __future__ import annotations

import json
import random
import statistics
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from chains import actes as actes_chain
from chains import budgets as budgets_chain
from core.config import PROJECT_ROOT, Settings
from core.identifiers import luhn_valid
from core.populations import band_of
from core.store import plain_bytes
from load.budget_widgets import named_files
from samples.budgets import totem_document, write_budget_act
from samples.populations import registry_communes

DEMO_REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"
NIGHTS = ("2025-05-10", "2025-05-11", "2025-05-12")


def _valid(prefix: str) -> str:
    """``prefix`` and the check digit that makes it pass Luhn."""
    return next(prefix + str(d) for d in range(10) if luhn_valid(prefix + str(d)))


def _peers(kerdigor: dict, count: int) -> list[dict]:
    """``count`` communes whose legal population (drawn from their SIREN) falls in Kerdigor's band."""
    def population(body: dict) -> int:
        return random.Random(body["siren"]).randint(800, 4_800)

    band, found = band_of(population(kerdigor)), []
    for number in range(1, 500):
        siren = _valid(f"2129{number:04d}")
        body = {"siren": siren, "siret": _valid(f"{siren}0001"), "name": f"Commune de Pair {number}", "kind": "commune",
                "code_commune": f"29{200 + number:03d}", "pastell_id_e": str(900 + number), "open_data": True}
        if band_of(population(body)) == band:
            found.append(body)
        if len(found) == count:
            return found
    raise AssertionError("no commune of Kerdigor's band")


@pytest.fixture
def region(tmp_path) -> tuple[Settings, dict, list[dict]]:
    """The demo registry with three more communes of Kerdigor's band, their legal populations cached."""
    from chains import populations
    from samples.budgets import write_demo_plans
    from samples.populations import ARCHIVE, write_populations
    from samples.sirene import serve_folder

    registry = yaml.safe_load(DEMO_REGISTRY.read_text(encoding="utf-8"))
    kerdigor = registry["bodies"][0]
    peers = _peers(kerdigor, 3)
    registry["bodies"] += peers
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    assert {b["code_commune"] for b in peers} <= set(registry_communes(path))
    write_demo_plans(tmp_path / "plans")
    write_populations(tmp_path / "populations", path)
    settings = Settings.from_env().with_overrides(store_url=str(tmp_path / "store"), drop_dir=tmp_path / "drop",
                                                  plans_dirs=(tmp_path / "plans",), plans_base_url="",
                                                  registry_path=path, sirene_work_dir=tmp_path / "work")
    with serve_folder(tmp_path / "populations") as base:
        populations.refresh_step(settings.with_overrides(populations_url=f"{base}/{ARCHIVE}"))
    return settings, kerdigor, peers


def _send(settings: Settings, night: str, body: dict, correction: int = 0) -> None:
    sealed = datetime.fromisoformat(night).replace(hour=1)
    totem = totem_document(body, "BP", 2025, sealed, random.Random(f"{body['siren']}{night}"), correction=correction)
    write_budget_act(settings.drop_dir, night, body, totem, f"BP2025-{body['siren']}")


def _night(settings: Settings, night: str) -> None:
    actes_chain.CHAIN.run_night(settings, night)
    budgets_chain.CHAIN.run_night(settings, night)


def _budget_primitif(settings: Settings, body: dict) -> dict:
    """The 2025 budget primitif a body's widget shows."""
    folder = Path(settings.store_url) / "public" / "widgets" / "budgets" / body["siret"]
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    name = next(n for n in named_files(index) if "-2025-bp." in n)
    return json.loads(plain_bytes((folder / name).read_bytes()))


def _shown(document: dict) -> tuple[int, dict[str, float | None]]:
    return document["comparaison"]["organismes"], {f["code"]: f["mediane_par_habitant"] for f in document["chiffres_cles"]}


def _expected(documents: list[dict]) -> tuple[int, dict[str, float]]:
    """The count and medians per inhabitant of the communes' published documents."""
    codes = [f["code"] for f in documents[0]["chiffres_cles"]]
    per_inhabitant = [{f["code"]: f["par_habitant"] for f in d["chiffres_cles"]} for d in documents]
    return len(documents), {code: round(statistics.median(p[code] for p in per_inhabitant), 2) for code in codes}


def _same(shown: tuple[int, dict], expected: tuple[int, dict]) -> None:
    assert shown[0] == expected[0], "communes compared"
    assert shown[1] == pytest.approx(expected[1], abs=0.011), "medians per inhabitant"


def test_a_night_that_changes_a_peer_budget_refreshes_the_medians_the_others_show(region):
    settings, kerdigor, (first, second, third) = region
    _send(settings, NIGHTS[0], kerdigor)
    _night(settings, NIGHTS[0])
    alone = _budget_primitif(settings, kerdigor)
    assert _shown(alone)[0] == 1 and set(_shown(alone)[1].values()) == {None}, "no median of one commune"

    _send(settings, NIGHTS[1], first)
    _send(settings, NIGHTS[1], second)
    _night(settings, NIGHTS[1])
    _same(_shown(_budget_primitif(settings, kerdigor)), _expected([_budget_primitif(settings, b) for b in (kerdigor, first, second)]))

    _send(settings, NIGHTS[2], first, correction=5_000)  # a corrected budget primitif replaces the first one
    _send(settings, NIGHTS[2], third)
    _night(settings, NIGHTS[2])
    documents = [_budget_primitif(settings, b) for b in (kerdigor, first, second, third)]
    _same(_shown(documents[0]), _expected(documents))
    _same(_shown(documents[2]), _expected(documents))  # every peer follows, the one that did not change too
