"""The widget catalogue after a night looks up only the bodies whose widget files the night
switched (three requests a body on S3), and still lists exactly the bodies with widget data."""

from __future__ import annotations

import json

from core.registry import Body, Registry
from core.store import LocalStore
from load.widget_catalogue import CATALOGUE_KEY, publish_catalogue
from load.widget_files import index_key

BODIES = tuple(Body(siren=siren, siret=siren + "00017", name=f"Commune {n}", kind="commune")
               for n, siren in enumerate(("212900997", "212900989", "212900971", "212900963")))


class CountingStore:
    def __init__(self, base):
        self.base, self.url, self.looked_up = base, base.url, set()

    def exists(self, key):
        self.looked_up.add(key.split("/")[3])
        return self.base.exists(key)

    def __getattr__(self, name):
        return getattr(self.base, name)


def _listed(store) -> list[str]:
    return [entry["siren"] for entry in json.loads(store.get_bytes(CATALOGUE_KEY))["organismes"]]


def test_a_night_looks_up_the_bodies_it_switched_only(tmp_path):
    store = CountingStore(LocalStore(tmp_path))
    registry = Registry("Région", "Syndicat", BODIES)
    for body in BODIES[:2]:
        store.put_bytes(index_key(body.siren), b"{}")
    publish_catalogue(store, registry, [BODIES[0].siren])  # no catalogue yet: every body is looked up
    assert _listed(store) == [BODIES[0].siren, BODIES[1].siren]
    assert len(store.looked_up) == 2 * len(BODIES)  # by SIREN (actes) and SIRET (budgets, marchés)

    store.looked_up.clear()
    store.put_bytes(index_key(BODIES[2].siren), b"{}")
    store.delete(index_key(BODIES[0].siren))
    publish_catalogue(store, registry, [BODIES[0].siren, BODIES[2].siren])
    assert store.looked_up == {BODIES[0].siren, BODIES[0].siret, BODIES[2].siren, BODIES[2].siret}
    assert _listed(store) == [BODIES[1].siren, BODIES[2].siren]

    publish_catalogue(store, Registry("Région", "Syndicat", BODIES[1:2]), [])  # a body left the registry
    assert _listed(store) == [BODIES[1].siren]
