"""The registry says which télétransmission platform each body's acts come from."""

from __future__ import annotations

import pytest
import yaml

from core.registry import RegistryError, load_registry
from tests.s2low.conftest import DEMO_REGISTRY, KERDIGOR, registry_on_s2low


def _registry_with(tmp_path, **changes):
    document = yaml.safe_load(DEMO_REGISTRY.read_text(encoding="utf-8"))
    document["bodies"][0].update(changes)
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_each_body_s_source_and_the_sources_a_night_reads(tmp_path):
    registry = load_registry(registry_on_s2low(tmp_path / "r.yaml", {KERDIGOR}))
    assert [b.siren for b in registry.bodies_on("s2low", "pastell")] == [KERDIGOR]
    assert KERDIGOR not in {b.siren for b in registry.bodies_on("pastell", "pastell")}
    assert registry.sources("pastell") == ["pastell", "s2low"]
    assert registry.by_siren(KERDIGOR).s2low_conn_id == f"digor_s2low_{KERDIGOR}"
    assert load_registry(DEMO_REGISTRY).sources("drop") == ["drop"], "no body names one: the default only"


def test_an_unknown_source_is_refused_naming_the_file_and_the_body(tmp_path):
    path = _registry_with(tmp_path, source="s3low")
    with pytest.raises(RegistryError, match=rf"{path}: body #1: source 's3low' is not one of"):
        load_registry(path)


def test_an_s2low_connection_on_a_body_not_on_s2low_is_refused(tmp_path):
    with pytest.raises(RegistryError, match="body #1: s2low_conn_id is set but the body's source is 'pastell'"):
        load_registry(_registry_with(tmp_path, source="pastell", s2low_conn_id="digor_s2low_x"))
