"""A sample region at real size, from the demo's generators (``digor sample-region``).

The demo has five bodies; the region digor serves has thousands. This writes one of that size:
bodies of every kind with a realistic mix (communes from hamlets to a city, EPCI, syndicats,
départements, the région, a few others) and activity in proportion; ten years of acts already
through the actes chain (the store as the nights left it: raw folders with their PDFs, staging,
the ledger, then every year published once and its documents' text read); the next night's new
acts in a drop folder (a few corrections of earlier acts and broken folders among them); every body's budget documents of the
year (TOTEM, as acts of nature 5, in a drop folder of their own); the procurement platform's
contracts in the 2022 format (JSON and XML) and the 2019 one; the plans de comptes; and the
SIRENE stock files covering every body and company.

Deterministic from the seed; written as it goes (one night of history, one file of contracts at
a time), so memory does not grow with the size. ``SCALES`` has the real size and a small one
that tests use. Layout of ``out``: ``registry.yaml``, ``store/``, ``drop/<night>/``,
``budgets-drop/<night>/``, ``decp-drop/<night>/``, ``plans-de-comptes/``, ``sirene/``,
``region.json`` (what was written, and the variables that point digor at it).
"""

from __future__ import annotations

import json
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

from core.registry import load_registry
from core.store import LocalStore, ObjectStore
from samples.actes import (
    NATURE_WEIGHTS,
    Act,
    _at,
    _draw_template,
    _make_act,
    _weighted,
    _write_act,
    act_files,
)

SEED = 2500
NIGHT = "2025-11-18"
RESEND_SHARE = 0.02  # acts sent again later with a corrected objet (a new version of the act)
BROKEN_EVERY = 250  # one folder in so many of the night is broken (quarantined, the night goes on)
DEPARTEMENTS = ("22", "29", "35", "56")
# Share of each kind among the bodies (communes take the rest), as in a region of four départements.
KIND_SHARES = (("departement", 0.0016), ("epci", 0.024), ("syndicat", 0.33), ("autre", 0.014))
NIGHT_NATURES = {nature: weight for nature, weight in NATURE_WEIGHTS.items() if nature != "5"}


@dataclass(frozen=True)
class RegionScale:
    bodies: int
    history_acts: int  # acts already published, spread over ``years`` years of nights
    years: int
    night_acts: int  # new acts of the night in the drop folder
    contracts: int
    contracts_per_file: int = 5_000


SCALES = {
    "region": RegionScale(bodies=2_500, history_acts=300_000, years=10, night_acts=1_000, contracts=60_000),
    "small": RegionScale(bodies=30, history_acts=600, years=3, night_acts=40, contracts=300, contracts_per_file=100),
}

_SYLLABLES = ("ker", "plou", "lan", "tré", "pen", "loc", "guer", "pleu", "bod", "kergo", "mor", "lok")
_ROOTS = ("digor", "vézec", "goat", "bihan", "meur", "hoat", "nevez", "lis", "gall", "aven", "elorn", "odet",
          "ster", "roz", "dour", "koad", "menez", "traon", "vern", "gwen")
_SYNDICATS = ("Syndicat intercommunal des eaux de {}", "Syndicat mixte du bassin versant de {}",
              "SIVU scolaire de {}", "Syndicat d'électrification de {}", "Syndicat de voirie de {}")


def _place(rng: random.Random, taken: set[str]) -> str:
    """A place name not given yet (some 35,000 can be drawn, then a number tells them apart)."""
    for attempt in range(50):
        name = rng.choice(_SYLLABLES) + rng.choice(_ROOTS) + (rng.choice(_ROOTS) if rng.random() < 0.3 else "")
        name = name.capitalize()
        if rng.random() < 0.25:
            name += "-" + rng.choice(("Izella", "Uhella", "sur-Mer", "Bras", "Vihan", "an-Dour"))
        if attempt > 40:
            name += f" {attempt}"
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("no place name left")


def _luhn(prefix: str) -> str:
    from samples.decp import luhn_complete

    return luhn_complete(prefix)


def region_bodies(rng: random.Random, count: int) -> tuple[list[dict], list[float]]:
    """Registry entries of ``count`` bodies and each one's activity (acts, contracts) relative to the others."""
    counts = {kind: max(1, round(count * share)) for kind, share in KIND_SHARES}
    counts["region"] = 1
    counts["commune"] = count - sum(counts.values())
    if counts["commune"] < 1:
        raise ValueError(f"a sample region needs at least {sum(counts.values()) + 1} bodies, not {count}")
    taken: set[str] = set()
    sequence: Counter = Counter()
    bodies, weights = [], []

    def add(kind: str, prefix: str, name: str, weight: float) -> None:
        sequence[prefix] += 1
        digits = 8 - len(prefix)
        siren = _luhn(prefix + f"{sequence[prefix]:0{digits}d}") if digits else _luhn(prefix)
        bodies.append({
            "siren": siren, "siret": _luhn(siren + "0001"), "name": name, "kind": kind,
            "pastell_id_e": str(10_000 + len(bodies)), "open_data": rng.random() < 0.96,
            "publish_annexes": rng.random() < 0.85, "metadata_only": rng.random() < 0.03, "widget": {},
        })
        weights.append(weight)

    for index in range(counts["departement"]):
        code = DEPARTEMENTS[index % len(DEPARTEMENTS)]
        add("departement", f"22{code}", f"Département {_place(rng, taken)}", 8_000.0)
    add("region", "23", "Région de démonstration", 8_000.0)
    for _ in range(counts["epci"]):
        population = rng.randint(12_000, 220_000)
        label = rng.choice(("Communauté de communes du pays de {}", "{} Agglomération", "Communauté de communes de {}"))
        add("epci", "200", label.format(_place(rng, taken)), 0.8 * population ** 0.6)
    for _ in range(counts["syndicat"]):
        add("syndicat", f"25{rng.choice(DEPARTEMENTS)}", rng.choice(_SYNDICATS).format(_place(rng, taken)),
            8 + 20 * rng.random())
    for _ in range(counts["autre"]):
        add("autre", f"26{rng.choice(DEPARTEMENTS)}", f"Centre communal d'action sociale de {_place(rng, taken)}", 5.0)
    for _ in range(counts["commune"]):
        population = int(min(350_000, max(40, rng.lognormvariate(6.7, 1.25))))
        add("commune", f"21{rng.choice(DEPARTEMENTS)}", f"Commune de {_place(rng, taken)}", population ** 0.6)
    return bodies, weights


def write_registry(path: Path, bodies: list[dict]) -> None:
    document = {"region": {"name": "Région de démonstration (taille réelle)", "publisher": "Syndicat numérique régional"},
                "bodies": bodies}
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(document, Dumper=dumper, allow_unicode=True, sort_keys=False), encoding="utf-8")


def history_nights(first_year: int, night: str) -> list[str]:
    """Working days from the first year's 2 January to the eve of ``night``: when acts came in."""
    day, end, nights = date(first_year, 1, 2), date.fromisoformat(night), []
    while day < end:
        if day.weekday() < 5:
            nights.append(day.isoformat())
        day += timedelta(days=1)
    return nights


class _Acts:
    """Draws acts of the region: a body by its activity, a nature, a text from the demo's templates."""

    def __init__(self, rng: random.Random, bodies: list[dict], weights: list[float]):
        self.rng, self.bodies = rng, bodies
        self.cumulative = []
        total = 0.0
        for weight in weights:
            total += weight
            self.cumulative.append(total)
        self.ids: set[str] = set()
        self.counters: dict[tuple, int] = {}
        self.recent: deque[Act] = deque(maxlen=2_000)

    def new(self, night: str) -> Act:
        rng = self.rng
        body = rng.choices(self.bodies, cum_weights=self.cumulative)[0]
        year = int(night[:4])
        nature, classification, objet = _draw_template(rng, _weighted(rng, NIGHT_NATURES), body["kind"], year)
        act = _make_act(rng, self.ids, self.counters, night, False, body, nature, classification, objet, year, -1)
        self.recent.append(act)
        return act

    def night(self, night: str, count: int) -> list[Act]:
        """``count`` acts of one night: new ones, and now and then a correction of a recent one."""
        acts = []
        for _ in range(count):
            if self.recent and self.rng.random() < RESEND_SHARE:
                earlier = self.recent[self.rng.randrange(len(self.recent))]
                if earlier.night < night and all(a.id_d != earlier.id_d for a in acts):
                    acts.append(replace(earlier, night=night, objet=earlier.objet + " (acte rectifié)",
                                        modified=_at(self.rng, date.fromisoformat(night))))
                    continue
            acts.append(self.new(night))
        return acts


def seed_history(store: ObjectStore, registry_path: Path, acts: _Acts, scale: RegionScale, night: str,
                 progress: Callable[[str], None] = lambda _: None) -> dict:
    """Ten years (``scale.years``) of nights as the actes chain left them: each night's act folders in
    the raw zone, its rows in staging and its events in the ledger (the chain's own transform)."""
    from core.keys import raw_night_prefix
    from core.ledger import write_night_events
    from transform.actes import ActRules, NightTransform, normalise_act, write_staging

    registry = load_registry(registry_path)
    nights = history_nights(int(night[:4]) - scale.years + 1, night)
    rules = ActRules()
    versions = 0
    for index, day in enumerate(nights):
        count = scale.history_acts * (index + 1) // len(nights) - scale.history_acts * index // len(nights)
        if not count:
            continue
        rows = []
        for act in acts.night(day, count):
            prefix = f"{raw_night_prefix('actes', 'drop', day)}siren={act.body['siren']}/{act.id_d}/"
            files = act_files(act)
            for name, data in files.items():
                store.put_bytes(prefix + name, data)
            row = normalise_act(prefix, files, registry, date.fromisoformat(day), "drop", rules)
            row.pop("left_out")
            rows.append(row)
        write_staging(store, NightTransform(day, rows, []))
        write_night_events(store, day, rows)
        versions += len(rows)
        if index % 250 == 0:
            progress(f"history: night {day}, {versions} act versions so far")
    return {"nights": len(nights), "versions": versions, "acts": len(acts.ids)}


def write_night(root: Path, acts: _Acts, scale: RegionScale, night: str) -> dict:
    """The night's drop folder: new acts, corrections of earlier ones, and a few broken folders."""
    written = Counter()
    for index, act in enumerate(acts.night(night, scale.night_acts)):
        breakage = None
        if index % BROKEN_EVERY == BROKEN_EVERY - 1:
            breakage = ("truncated_json", "missing_pdf")[(index // BROKEN_EVERY) % 2]
            if breakage == "missing_pdf":
                act.stamped, act.annexes = False, []
        _write_act(root, act, breakage)
        written["broken" if breakage else "corrected" if act.objet.endswith("(acte rectifié)") else "new"] += 1
    return dict(written)


def write_budgets(root: Path, rng: random.Random, bodies: list[dict], acts: _Acts, night: str) -> dict:
    """Every body's budget documents of the year (TOTEM): budget primitif, décisions modificatives,
    budget supplémentaire, annex budgets, and the last year's compte administratif or CFU."""
    from samples.budgets import _new_act, totem_document

    year = int(night[:4])
    stages = Counter()
    for body in bodies:
        plan = [("BP", year, False), ("CFU" if rng.random() < 0.5 else "CA", year - 1, False)]
        plan += [("BP", year, True)] if rng.random() < 0.35 else []
        plan += [("DM", year, False)] if rng.random() < 0.6 else []
        plan += [("DM", year, True)] if rng.random() < 0.2 else []
        plan += [("BS", year, False)] if rng.random() < 0.3 else []
        for number, (stage, exercice, annex) in enumerate(plan, start=1):
            act = _new_act(rng, acts.ids, body, "BP" if stage == "BP" else "CA", exercice, annex, night,
                           f"BUD_{year}_{number:03d}")
            if stage in ("DM", "BS", "CFU"):
                objet = {"DM": f"Décision modificative n°1 — budget {'annexe' if annex else 'principal'} {exercice}",
                         "BS": f"Budget supplémentaire {exercice}", "CFU": f"Compte financier unique {exercice}"}[stage]
                classification = {"DM": "7.1.2 Decision modificative", "BS": "7.1.2 Budget supplementaire",
                                  "CFU": "7.1.3 Compte financier unique"}[stage]
                act = replace(act, objet=objet, classification=classification)
            sealed = datetime.combine(act.posted, datetime.min.time()) + timedelta(hours=8, minutes=rng.randint(0, 59))
            act.totem = totem_document(body, stage, exercice, sealed, rng, annex=annex)
            _write_act(root, act)
            stages[stage] += 1
    return dict(stages)


def write_contracts(root: Path, rng: random.Random, bodies: list[dict], weights: list[float], scale: RegionScale,
                    night: str) -> tuple[dict, dict[str, str]]:
    """The platform's exports: files of ``contracts_per_file`` contracts, 2022 JSON and XML in turn, one
    in ten in the 2019 format; returns the summary and the companies (SIRET -> name)."""
    from samples.decp import _json_bytes, _Plan, _siret, _xml_bytes

    plan = _Plan(rng, bodies)
    plan.companies = [(_siret(rng), f"Entreprise {_place(rng, set()).upper()} {n}") for n in range(max(8, scale.contracts // 20))]
    root.mkdir(parents=True, exist_ok=True)
    end = date.fromisoformat(night)
    formats, written, number = Counter(), 0, 0
    while written < scale.contracts:
        batch = min(scale.contracts_per_file, scale.contracts - written)
        number += 1
        buyers = rng.choices(bodies, weights=weights, k=batch)
        days = [end - timedelta(days=rng.randint(1, 5 * 365)) for _ in buyers]
        if number % 10 == 0:
            history = [plan.marche_2019(buyer, day.isoformat()) for buyer, day in zip(buyers, days)]
            data, name, kind = (json.dumps({"marches": history}, ensure_ascii=False) + "\n").encode(), \
                f"historique-{number:03d}.json", "2019 JSON"
        else:
            marches = [plan.marche(buyer, day.isoformat(), (day + timedelta(days=rng.randint(1, 20))).isoformat(),
                                   holders=1 if rng.random() < 0.9 else 2) for buyer, day in zip(buyers, days)]
            if number % 2:
                data, name, kind = _json_bytes(marches), f"decp-export-{number:03d}.json", "2022 JSON"
            else:
                data, name, kind = _xml_bytes(marches), f"decp-export-{number:03d}.xml", "2022 XML"
        (root / name).write_bytes(data)
        formats[kind] += batch
        written += batch
    return {"objects": written, "files": number, "formats": dict(formats)}, dict(plan.companies)


def generate_region(out: Path, scale: RegionScale = SCALES["region"], seed: int = SEED, night: str = NIGHT,
                    publish: bool = True, progress: Callable[[str], None] = lambda _: None) -> dict:
    """Write the sample region under ``out`` (which must not hold one already); returns the summary
    also written to ``out/region.json``. ``publish``: publish every year of the history once, as the
    nights would have (else the store holds raw, staging and the ledger only)."""
    out = Path(out)
    if (out / "store").exists():
        raise FileExistsError(f"{out / 'store'} exists: give an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    bodies, weights = region_bodies(rng, scale.bodies)
    registry_path = out / "registry.yaml"
    write_registry(registry_path, bodies)
    progress(f"registry: {len(bodies)} bodies {dict(Counter(b['kind'] for b in bodies))}")
    acts = _Acts(random.Random(f"{seed}/acts"), bodies, weights)
    store = LocalStore(out / "store")
    history = seed_history(store, registry_path, acts, scale, night, progress)
    progress(f"history: {history['acts']} acts, {history['versions']} versions over {history['nights']} nights")
    night_acts = write_night(out / "drop", acts, scale, night)
    progress(f"night {night}: {night_acts}")
    budgets = write_budgets(out / "budgets-drop", random.Random(f"{seed}/budgets"), bodies, acts, night)
    progress(f"budgets: {sum(budgets.values())} TOTEM documents {budgets}")
    contracts, companies = write_contracts(out / "decp-drop" / night, random.Random(f"{seed}/decp"), bodies, weights,
                                           scale, night)
    progress(f"contracts: {contracts}")
    from samples.budgets import write_demo_plans
    from samples.sirene import write_demo_extract

    write_demo_plans(out / "plans-de-comptes")
    write_demo_extract(out / "sirene", registry_path, companies, night)
    environment = {"DIGOR_STORE": str(out / "store"), "DIGOR_REGISTRY": str(registry_path),
                   "DIGOR_DROP_DIR": str(out / "drop"), "DIGOR_DECP_DROP_DIR": str(out / "decp-drop"),
                   "DIGOR_PLANS_DIRS": str(out / "plans-de-comptes")}
    texts = None
    if publish:
        progress("publishing every year of the history once (as the nights did)")
        publish_history(environment)
        texts = read_history_texts(environment)
        progress(f"texts: {texts['read']} documents of the history read, {texts['published']} texts published")
    summary = {"seed": seed, "night": night, "scale": asdict(scale),
               "bodies": dict(Counter(b["kind"] for b in bodies)), "history": history, "night_acts": night_acts,
               "budget_documents": budgets, "contracts": contracts, "companies": len(companies),
               "published": publish, "texts": texts, "environment": environment}
    (out / "region.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def region_settings(environment: dict[str, str]):
    """Settings of a run on a generated region (its store, registry, drop folders, plans)."""
    from core.config import Settings

    base = Settings.from_env()
    return base.with_overrides(
        store_url=environment["DIGOR_STORE"], registry_path=Path(environment["DIGOR_REGISTRY"]),
        drop_dir=Path(environment["DIGOR_DROP_DIR"]), decp_drop_dir=Path(environment["DIGOR_DECP_DROP_DIR"]),
        plans_dirs=(Path(environment["DIGOR_PLANS_DIRS"]),), source_name="drop", overlay_prefix=None,
    )


def publish_history(environment: dict[str, str]) -> dict:
    """Every staged year published at once, as the nights of the history would have left them."""
    from chains.actes import CHAIN
    from transform.actes import staged_years

    settings = region_settings(environment)
    years = staged_years(CHAIN.store(settings))
    return CHAIN.republish(settings, years, None, "sample-region-history")


def read_history_texts(environment: dict[str, str]) -> dict:
    """The text of every public document of the published history, read and published as its nights
    did: a region in service has read them, its next night reads only its own new documents. Read in
    this process (``read_own_document``: the generator's own PDFs), not one child process each (about
    half a second per document, hours at real size)."""
    from chains.actes import CHAIN
    from extract.document_text import read_own_document
    from load.document_texts import public_pdf, to_read, write_record

    settings = region_settings(environment)
    store = CHAIN.store(settings)
    pending = to_read(store)
    for sha256 in pending:
        data = public_pdf(store, sha256)
        if data is not None:
            write_record(store, sha256, read_own_document(data, settings.text_limits).to_dict())
    published = CHAIN.publish_texts(settings, [])
    return {"read": len(pending), "published": len(published["written"])}
