"""The budgets chain: TOTEM budget documents to SCDL budget files, the Budgets widget's files, data.gouv.fr.

Night D reads the acts of nature 5 that the actes chain staged for night D, turns their TOTEM
XML into digor's budget table (``staging/budgets``), then rebuilds the SCDL budget file of
every touched exercice, the touched bodies' widget files, and sends changed files to
data.gouv.fr. The generic running is ``chains.chain``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import pandas as pd

from chains.body_switches import failed_bodies, switch_each
from chains.chain import Chain, Dataset, NightMarks, publish_catalogue_and_map, quarantined_rows
from chains.populations import body_population
from chains.publication import publish_shaped
from core.config import TOTEM_MAX_BYTES, Settings
from core.jsonio import json_bytes
from core.keys import (
    BUDGET_COMPARISONS_KEY,
    BUDGET_VERSIONS_PREFIX,
    BUDGETS_PENDING_KEY,
    public_prefix,
    raw_prefix,
    report_key,
)
from core.ledger import applied_files, ledger_files, ledger_lines, record_applied
from core.publication_rule import Decision
from core.registry import Body, body_registry
from core.store import ObjectStore, put_if_changed
from extract.plans_de_comptes import PlanSource
from load.budget_widgets import (
    comparisons,
    document_names,
    moved_comparisons,
    publish_body,
    published_document_names,
)
from load.public_files import switch_dataset_manifest
from load.versions import read_json
from transform.consolidate_actes import follow_decisions
from transform.totem_budgets import (
    budget_lines,
    current_documents,
    history_bytes,
    publishable,
    refused_documents,
    scdl_frame,
    staged_budget_acts,
    staged_budget_years,
    transform_budget_night,
    write_budget_staging,
)
from transform.totem_plans import PlanError, PlanResolver

PUBLIC_BASE = public_prefix("budgets") + "/budgets-{year}"
HISTORY_PREFIX = BUDGET_VERSIONS_PREFIX


class ActesNotStaged(RuntimeError):
    """The actes chain has not run for the night: a budgets run given that night by hand fails, saying so."""


def plan_resolver(settings: Settings, store: ObjectStore | None = None) -> PlanResolver:
    return PlanResolver(PlanSource(store, settings.plans_dirs, settings.plans_base_url))


def _open_sirens(settings: Settings) -> set[str]:
    return {b.siren for b in body_registry(settings).bodies if b.open_data}


def widget_function_plan(plans: PlanResolver) -> Callable[[str, int], dict[str, str]]:
    """The functions of a document's plan de comptes, for the widget's rubriques (none when the
    plan cannot be had: the widget then names a rubrique by its code)."""
    def functions(nomenclature: str, year: int) -> dict[str, str]:
        norme, _, declinaison = str(nomenclature).partition("-")
        try:
            return plans.get(norme, declinaison, year).functions
        except PlanError:
            return {}
    return functions


def population_lookup(settings: Settings, store: ObjectStore, registry) -> Callable:
    """Body -> its legal population (None for a body without one): the registry's commune code,
    else its siège's in the SIRENE cache."""
    from chains.sirene import body_headers

    headers = body_headers(settings)
    return body_population(store, registry, lambda siren: (headers(siren) or {}).get("code_commune"))


def plans_at_hand(plans: PlanResolver, lines: pd.DataFrame) -> bool:
    """Whether the plan de comptes of every document of ``lines`` can be had now (the widget's labels)."""
    for nomenclature, year in set(zip(lines["nomenclature"], lines["exercice"])) if not lines.empty else ():
        norme, _, declinaison = str(nomenclature).partition("-")
        try:
            plans.get(norme, declinaison, int(year))
        except PlanError:
            return False
    return True


class BudgetsChain(Chain):
    name = "budgets"
    main_schema = "scdl-budget"
    datasets = {"budgets": Dataset("budgets", "scdl-budget", "Budgets {year} (SCDL budget) ({fmt})", "lignes budgétaires")}
    diff_keys = {"budgets": ["BGT_SIRET", "BGT_ANNEE", "BGT_NATDEC", "BGT_CODRD", "BGT_SECTION", "BGT_OPBUDG",
                             "BGT_CONTNAT", "BGT_NATURE", "BGT_FONCTION", "BGT_OPERATION", "BGT_ARTSPE"]}
    # Budgets come with the acts (nature 5): read from the actes chain's staging, not from a source.
    has_extract = False
    pending = NightMarks(BUDGETS_PENDING_KEY)  # a night whose every retry failed is finished by the next run
    follows_decisions_of = ("actes",)  # a budget is online only while its act is
    empty_night = {"documents": [], "rejects": [], "line_problems": [], "without_totem": [], "deferred": []}

    def raw_prefixes(self, settings: Settings) -> list[str]:
        # A backfill replays the acts' nights, from every source a body is on.
        return [raw_prefix("actes", source) + "/"
                for source in body_registry(settings).sources(settings.source_name)]

    def night_ready(self, store: ObjectStore, night: str) -> bool:
        return store.exists(report_key("actes", night))

    def unfinished_nights(self, transformed: dict) -> set[str]:
        """A night whose documents were deferred (a plan de comptes missing for now) is tried again."""
        return {d["night"] for d in transformed.get("deferred", []) if "night" in d}

    def transform(self, settings: Settings, night: str) -> dict:
        """TOTEM of the night's budget acts -> staging; rejects quarantined with their reason."""
        store = self.store(settings)
        if not store.exists(report_key("actes", night)):
            raise ActesNotStaged(f"the actes chain has not run for night {night}: no {report_key('actes', night)}")
        result = transform_budget_night(store, night, plan_resolver(settings, store), TOTEM_MAX_BYTES,
                                        body_registry(settings), settings.budget_max_amount)
        years = write_budget_staging(store, result)
        rejects = [r.to_dict() for r in result.rejects]
        self.write_quarantine(settings, night, {"rejects": rejects, "line_problems": result.line_problems,
                                                "deferred": result.deferred})
        return {
            "night": night,
            "years": years,
            "bodies": sorted({d["siren"] for d in result.documents} | {r["siren"] for r in rejects if r["siren"]}),
            "documents": [
                {k: d[k] for k in ("source_id", "siren", "siret", "exercice", "stage", "natdec_code", "budget_type",
                                   "sealed_at", "decision", "lines", "problems")}
                for d in result.documents
            ],
            "rejects": rejects,
            "line_problems": result.line_problems,
            "without_totem": result.without_totem,
            "deferred": result.deferred,
        }

    def decision_years(self, settings: Settings, decided: dict) -> list[int]:
        """The exercices of the budget documents that came with the decided act (none: not a budget act)."""
        return staged_budget_years(self.store(settings), (decided["siren"], decided["source_id"]))

    def years_to_publish(self, settings: Settings, transformed: dict, force_rebuild: bool) -> list[int]:
        return staged_budget_years(self.store(settings)) if force_rebuild else list(transformed["years"])

    def publish_year(self, settings: Settings, year: int, bodies: Iterable[str] | None = None,
                     night: str | None = None) -> dict:
        """Rebuild the exercice's regional SCDL budget file from the current published documents."""
        store = self.store(settings)
        registry = body_registry(settings)
        following = ledger_files(store)  # listed before the read: what this exercice's files will follow
        staged, refused = refused_documents(budget_lines(store, year), settings.budget_max_amount, registry)
        current, history = current_documents(staged)
        store.put_bytes(f"{HISTORY_PREFIX}/annee={year}.json", history_bytes(history))
        current = follow_decisions(current, store, registry)
        open_sirens = _open_sirens(settings)
        published = publishable(current, open_sirens)
        withdrawn = (current[(current["decision"] == Decision.WITHDRAWN.value) & current["siren"].isin(open_sirens)]
                     if not current.empty else current)
        frame = scdl_frame(published)
        files, report = publish_shaped(settings, store, frame, PUBLIC_BASE.format(year=year), self.main_schema, str(year))
        quarantined = quarantined_rows(report, frame, files[0].key, {"siret": "BGT_SIRET", "nature": "BGT_NATURE"})
        quarantined += [{**left, "file": files[0].key} for left in refused]
        record_applied(store, year, following, self.name)
        return {
            "year": year,
            "files": {self.name: [f.to_dict() for f in files]},
            "rows": len(frame) - len(quarantined),
            "quarantined": quarantined,
            "published_by_body": dict(Counter(published["siren"])) if not published.empty else {},
            "replaced_versions": [h for h in history if h["status"] == "replaced"],
            "bodies": sorted(set(published["siren"])) if not published.empty else [],
            "widget_bodies": None if bodies is None else sorted(bodies),  # whose widget files to switch
            "left_by_decision": {self.name: len(withdrawn)},  # lines withdrawals took out: the shrink guard expects them
        }

    def stale_years(self, settings: Settings) -> dict[int, list[str] | None]:
        """Exercices whose files do not follow the acts' ledger yet: a decision on one of their documents'
        acts recorded since they were built (bodies concerned), or none recorded at all (every body)."""
        store = self.store(settings)
        ledger = set(ledger_files(store))
        applied = applied_files(store, self.name)
        stale: dict[int, list[str] | None] = {}
        for year, acts in staged_budget_acts(store).items():
            followed = applied.get(year)
            if followed is None or followed - ledger:
                stale[year] = None
                continue
            touched = {(e["siren"], e["source_id"]) for e in ledger_lines(store, ledger - followed)} & acts
            if touched:
                stale[year] = sorted({siren for siren, _ in touched})
        return stale

    def widget_bodies(self, transformed: dict, years: list[dict], force_rebuild: bool) -> list[str] | None:
        """Widget files follow the documents of the night, whatever their exercice, and the bodies a decision
        touched (every body on a rebuild)."""
        if force_rebuild or any(year.get("widget_bodies", []) is None for year in years):
            return None
        return sorted(set(transformed["bodies"]).union(*(year.get("widget_bodies") or [] for year in years)))

    def publish_widgets(self, settings: Settings, bodies: Iterable[str] | None) -> list[str]:
        """Switch the regional files' manifest to the versions just written (the stable names follow),
        then the widget files of the given bodies (all bodies when None), from every staged exercice,
        and of the communes whose comparison with their band moved (a peer's budget changed)."""
        store = self.store(settings)
        folder = PUBLIC_BASE.rsplit("/", 1)[0]
        manifest = switch_dataset_manifest(store, folder, self.name, settings.version_retention_days)["manifest"]
        plans = plan_resolver(settings, store)
        function_plan = widget_function_plan(plans)
        registry = body_registry(settings)
        bound = settings.budget_max_amount
        frames = [current_documents(refused_documents(budget_lines(store, year), bound, registry)[0])[0]
                  for year in staged_budget_years(store)]
        frames = [f for f in frames if not f.empty]
        current = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["siren", "decision"])
        current = follow_decisions(current, store, registry)
        published = publishable(current, {b.siren for b in registry.bodies if b.open_data})
        wanted = None if bodies is None else set(bodies) | failed_bodies(store, self.name)
        population_of = population_lookup(settings, store, registry)
        found = comparisons(published, registry.bodies, population_of)
        shown, moved = moved_comparisons(found, registry.region_name, read_json(store, BUDGET_COMPARISONS_KEY))
        looked_at = [body for body in registry.bodies if wanted is None or body.siren in wanted or body.siren in moved]
        kept_back = False

        def switch(body: Body) -> list[str]:
            nonlocal kept_back
            lines = published[published["siren"] == body.siren] if not published.empty else published
            if not plans_at_hand(plans, lines) and document_names(lines) == published_document_names(store, body):
                kept_back = kept_back or body.siren in moved
                return []  # the same documents: keep them as published, with the labels their plans gave
            return publish_body(store, body, registry.publisher, lines, function_plan,
                                settings.version_retention_days, population_of(body), found, registry.region_name)

        written = switch_each(store, self.name, looked_at, switch, lambda body: body.siren)
        if not kept_back:  # else tomorrow's night tries the communes kept back again
            put_if_changed(store, BUDGET_COMPARISONS_KEY, json_bytes(shown))
        return [manifest] + written + publish_catalogue_and_map(
            settings, store, registry, None if wanted is None else {body.siren for body in looked_at})

    def build_report(self, night: str, extracted: dict, transformed: dict, years: list[dict], widgets: list[str],
                     datagouv: list[dict]) -> dict:
        """The night's report: documents per body, rejects with reasons, rows left out, files."""
        bodies: dict[str, Counter] = {}
        for document in transformed["documents"]:
            counts = bodies.setdefault(document["siren"], Counter())
            counts["documents"] += 1
            counts[f"decision_{document['decision']}"] += 1
        for reject in transformed["rejects"]:
            bodies.setdefault(reject["siren"] or "inconnu", Counter())["rejected"] += 1
        quarantined = [q for y in years for q in y["quarantined"]]
        return {
            "chain": self.name,
            "night": night,
            "totals": {
                "extracted": len(transformed["documents"]) + len(transformed["rejects"])
                + len(transformed["without_totem"]),
                "transformed": len(transformed["documents"]),
                "rejected": len(transformed["rejects"]),
                "quarantined_rows": len(quarantined) + len(transformed["line_problems"]),
                "deferred": len(transformed.get("deferred", [])),
                "years_published": [y["year"] for y in years],
            },
            "bodies": {siren: dict(sorted(c.items())) for siren, c in sorted(bodies.items())},
            "documents": transformed["documents"],
            "rejected": [{**r, "raw_prefix": r["raw_key"]} for r in transformed["rejects"]],
            "line_problems": transformed["line_problems"],
            "quarantined_rows": quarantined,
            "without_totem": transformed["without_totem"],
            "deferred": transformed.get("deferred", []),
            "replaced_versions": [v for y in years for v in y["replaced_versions"]],
            "files": [f for y in years for files in y["files"].values() for f in files],
            "widget_files_written": widgets,
            "datagouv": datagouv,
        }

    def summary_lines(self, report: dict) -> list[str]:
        totals = report["totals"]
        lines = [
            f"budgets {report['night']}: {totals['transformed']} documents converted, {totals['rejected']} rejected, "
            f"{totals['quarantined_rows']} lines left out, years published {totals['years_published']}"
        ]
        lines += [f"  rejected {r['raw_prefix']}: {r['reason']}" for r in report["rejected"]]
        deferred = report.get("deferred", [])
        if deferred:
            more = f" (and {len(deferred) - 1} more, listed in the report)" if len(deferred) > 1 else ""
            lines.append(
                f"budgets {report['night']}: {len(deferred)} documents could not be converted for now, the budgets "
                f"already published stay online; first: {deferred[0]['reason']}{more}; the next run tries them again, "
                f"or rerun this night once fixed"
            )
        return lines


CHAIN = BudgetsChain()
