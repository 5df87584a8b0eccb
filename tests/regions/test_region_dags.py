"""A region's DAGs in a deployment serving several regions: a run writes its region's store only."""

from __future__ import annotations

import pandas as pd
import pendulum
import pytest
import yaml

from core.config import PROJECT_ROOT
from core.keys import report_key
from extract.pastell_source import night_cutoff
from samples.actes import DEMO_NIGHTS
from samples.s2low_platform import sample_platform

CENTRE = PROJECT_ROOT / "config" / "registry-demo-centre.yaml"


@pytest.fixture
def centre_actes(airflow_db, tmp_path, monkeypatch):
    """The second region's actes DAG, its bodies' S²LOW on loopback, the deployment's store empty."""
    from airflow.dag_processing.dagbag import DagBag

    regions = tmp_path / "regions.yaml"
    regions.write_text(yaml.safe_dump({"regions": {"centre-demo": {"registry": str(CENTRE), "source": "s2low"}}}),
                       encoding="utf-8")
    for name, value in {"DIGOR_STORE": str(tmp_path / "store"), "DIGOR_REGIONS": str(regions),
                        "DIGOR_DROP_DIR": str(tmp_path / "no-drop"), "NO_PROXY": "127.0.0.1,localhost"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DIGOR_REGION", raising=False)
    with sample_platform(tmp_path / "s2low", CENTRE, DEMO_NIGHTS[:1]) as (s2low, connections):
        for name, value in connections.items():
            monkeypatch.setenv(name, value)
        s2low.clock = night_cutoff(DEMO_NIGHTS[0])
        yield DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes__centre-demo"), tmp_path / "store", s2low


def test_the_second_region_s_actes_dag_writes_only_under_its_prefix(centre_actes):
    from airflow.utils.state import DagRunState

    dag, store, s2low = centre_actes
    run = dag.test(logical_date=pendulum.parse(DEMO_NIGHTS[0]))
    assert run.state == DagRunState.SUCCESS
    assert {p.name for p in store.iterdir()} == {"regions"}
    assert {p.name for p in (store / "regions").iterdir()} == {"centre-demo"}
    region = store / "regions" / "centre-demo"
    published = pd.read_csv(region / "public/actes/actes-2025.csv", dtype=str, keep_default_na=False)
    own = {body["siret"] for body in yaml.safe_load(CENTRE.read_text(encoding="utf-8"))["bodies"]}
    assert len(published) and set(published["COLL_SIRET"]) <= own
    assert set(published["SOURCE_ID"]) <= {t.id for t in s2low.transactions}  # through S²LOW
    assert (region / report_key("actes", DEMO_NIGHTS[0])).is_file()
