"""Per-body files that the static Actes widget reads straight from the public zone."""

from __future__ import annotations

import json

import pandas as pd

from digor.registry import Body, Registry
from digor.store import ObjectStore, put_if_changed
from transform.nomenclature_actes import NATURES, parse_classification
from transform.scdl_deliberations import UrlOf, annex_urls

WIDGET_PREFIX = "public/widgets/actes"
FORMAT_VERSION = 1


def json_bytes(document) -> bytes:
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def year_key(siren: str, year: int) -> str:
    return f"{WIDGET_PREFIX}/{siren}/{year}.json"


def index_key(siren: str) -> str:
    return f"{WIDGET_PREFIX}/{siren}/index.json"


def _iso(value) -> str | None:
    return None if value is None or pd.isna(value) else value.isoformat()


def _act_entry(act: pd.Series, url_of: UrlOf) -> dict:
    matiere = parse_classification(act["matiere_code"])
    annexes = [
        {"nom": annex["name"], "url": url}
        for annex, url in zip(act["annexes"], annex_urls(act, url_of))
    ]
    return {
        "id": act["source_id"],
        "numero": act["numero"],
        "objet": act["objet"],
        "nature_code": act["nature_code"],
        "nature": NATURES[act["nature_code"]],
        "matiere_code": matiere.code,
        "matiere": f"{matiere.label_1} / {matiere.label_2}",
        "date_decision": _iso(act["date_decision"]),
        "date_transmission": _iso(act["date_transmission"]),
        "date_ar": _iso(act["pref_date"]),
        "date_publication": _iso(act["publication_date"]),
        "document": {"nom": act["main_file_name"], "url": url_of(act["main_file_sha256"], act["main_file_name"])},
        "annexes": annexes,
    }


def publish_year_files(
    store: ObjectStore, registry: Registry, year: int, published: pd.DataFrame, bodies: set[str], url_of: UrlOf
) -> list[str]:
    """Rewrite the year file of every body in ``bodies``; a body left with nothing loses it."""
    written = []
    for siren in sorted(bodies):
        body = registry.by_siren(siren)
        acts = published[published["siren"] == siren]
        key = year_key(siren, year)
        if body is None or not body.open_data or acts.empty:
            store.delete(key)
            continue
        entries = [_act_entry(act, url_of) for _, act in acts.iterrows()]
        entries.sort(key=lambda e: (e["date_publication"] or "", e["date_decision"] or "", e["numero"]), reverse=True)
        document = {"format": FORMAT_VERSION, "siren": siren, "annee": year, "actes": entries}
        if put_if_changed(store, key, json_bytes(document)):
            written.append(key)
    return written


def publish_index(store: ObjectStore, body: Body, region_publisher: str) -> str:
    """The body's entry point: who it is, its widget settings and the years available."""
    years = {}
    for key in store.list_keys(f"{WIDGET_PREFIX}/{body.siren}/"):
        name = key.rsplit("/", 1)[1]
        if name[:4].isdigit() and name.endswith(".json"):
            acts = json.loads(store.get_bytes(key))["actes"]
            years[name[:4]] = {"actes": len(acts), "fichier": name}
    document = {
        "format": FORMAT_VERSION,
        "siren": body.siren,
        "siret": body.siret,
        "nom": body.name,
        "type": body.kind,
        "editeur": region_publisher,
        "widget": body.widget,
        "annees": dict(sorted(years.items(), reverse=True)),
    }
    key = index_key(body.siren)
    if not years:
        store.delete(key)
    else:
        put_if_changed(store, key, json_bytes(document))
    return key
