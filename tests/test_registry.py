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


def test_luhn_agrees_with_the_rule_digit_by_digit():
    """Every second digit from the right doubled, the digits of the doubles summed; only ASCII digits."""
    def rule(digits: str) -> bool:
        total = 0
        for index, digit in enumerate(reversed(digits)):
            value = int(digit) * (2 if index % 2 else 1)
            total += value // 10 + value % 10
        return total % 10 == 0

    numbers = [str(n) for n in range(0, 100_000, 7)] + [f"{n:014d}" for n in range(21290099700000, 21290099700400)]
    assert all(luhn_valid(number) == rule(number) for number in numbers)
    assert not luhn_valid("") and not luhn_valid("١٢") and not luhn_valid("²") and not luhn_valid("1 2")


def _registry_with(tmp_path, establishments: str):
    path = tmp_path / "registry.yaml"
    path.write_text(
        "bodies:\n"
        '  - {siren: "212900997", siret: "21290099700017", name: K, kind: commune, budget_establishments: ' + establishments + "}\n"
        '  - {siren: "200099992", siret: "20009999200014", name: E, kind: epci}\n',
        encoding="utf-8",
    )
    return path


def test_a_body_sends_the_budgets_of_its_own_and_its_declared_establishments(tmp_path):
    kerdigor = load_registry(_registry_with(tmp_path, '["26290099600014"]')).bodies[0]
    assert kerdigor.sends_budgets_of("21290099700017") and kerdigor.sends_budgets_of("21290099700025")
    assert kerdigor.sends_budgets_of("26290099600014")
    assert not kerdigor.sends_budgets_of("20009999200014") and not kerdigor.sends_budgets_of("26290099600022")


def test_a_budget_establishment_must_be_a_siret_of_no_other_body(tmp_path):
    with pytest.raises(RegistryError, match="budget establishment '2629009960001' is not a valid SIRET"):
        load_registry(_registry_with(tmp_path, '["2629009960001"]'))
    with pytest.raises(RegistryError, match="20009999200014 of SIREN 212900997 belongs to SIREN 200099992, a body"):
        load_registry(_registry_with(tmp_path, '["20009999200014"]'))


def test_a_commune_code_must_be_an_insee_code(tmp_path):
    path = tmp_path / "registry.yaml"
    body = "  - {siren: '212900997', siret: '21290099700017', name: Kerdigor, kind: commune, code_commune: %s}\n"
    path.write_text("region: {name: R, publisher: P}\nbodies:\n" + body % "'29901'", encoding="utf-8")
    assert load_registry(path).bodies[0].code_commune == "29901"
    path.write_text("region: {name: R, publisher: P}\nbodies:\n" + body % "'2990'", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"body #1: code_commune '2990' is not an INSEE commune code"):
        load_registry(path)
