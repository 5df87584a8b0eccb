import pytest

from core.config import PROJECT_ROOT
from core.identifiers import luhn_valid
from core.registry import RegistryError, load_registry


def test_demo_registry_loads_with_valid_identifiers():
    registry = load_registry(PROJECT_ROOT / "config" / "registry-demo.yaml")
    assert len(registry.bodies) >= 5
    assert {b.kind for b in registry.bodies} >= {"commune", "epci", "syndicat", "departement"}
    assert any(not b.open_data for b in registry.bodies)
    assert any(not b.publish_annexes for b in registry.bodies)
    assert registry.by_id_e("101").siren == "212900997"


def test_bad_siret_is_named(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text(
        'bodies:\n  - {siren: "212900997", siret: "21290099700018", name: X, kind: commune}\n', encoding="utf-8"
    )
    with pytest.raises(RegistryError, match=r"registry.yaml: body #1: SIRET '21290099700018'"):
        load_registry(path)


def test_luhn():
    assert luhn_valid("21290099700017")
    assert not luhn_valid("21290099700018")
    assert not luhn_valid("2129009970001a")
