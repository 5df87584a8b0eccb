"""Source: the nightly incremental pull of acts from Pastell into the raw zone.

For each body of the registry with a Pastell entity (``pastell_id_e``), the documents of the
acts flows that changed since the body's watermark are fetched (detail, then every file its
form names) and written to ``raw/actes/pastell/date=<night>/siren=<siren>/<id_d>/``: the
layout the drop folder gives, so the same transform reads both. ``metadata.json`` is the
document detail as Pastell sent it, with the entity ``id_e`` added at the top when absent
(Pastell's detail does not repeat it, and the transform maps a body by it when the form has
no SIREN). Files keep the names the form gives them.

Night ``D`` takes the changes up to the end of its data interval (``D+1`` at the nightly
cron's time, Pastell's local clock): a rerun of a night asks for nothing newer, so it finds
the same documents and writes the same keys. A change made after that belongs to the next
night, which stores it under its own date; the consolidation keeps the latest version by
``id_d``.

The watermark of a body (``private/pastell/watermarks/<siren>.json``) moves only once the body's
documents are in raw, and only past a range fully listed: a list of several pages is read
until two readings agree (``PastellClient.listing``); one that never settles is reported
(``unlisted``) and the watermark stays, so the next night lists the range again. A
document that fails is reported and kept in the body's pending list, fetched again next
night while the others go on; one deleted between list and detail is reported and
forgotten. A file the form names but Pastell has lost (its 400 "Ce fichier n'existe pas")
is reported once with the document (``incomplete``), which is stored without it and judged
by the transform's rules like any act missing a file: asking again would not bring it back. Documents still being written, signed or awaiting the préfecture's
acknowledgement are not acts yet: they are pulled when their state changes again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta

from core.act_identity import foreign_siren, id_acte_of
from core.config import NIGHTLY_CRON, Settings
from core.jsonio import json_bytes as _dumps
from core.keys import PASTELL_JOURNAL_KEY as JOURNAL_KEY
from core.keys import PASTELL_STATE_KEY as STATE_KEY
from core.keys import PASTELL_STATE_PREFIX as STATE_PREFIX
from core.keys import is_short_run, pastell_body_state_key, report_key
from core.registry import PASTELL_SOURCE, Body, Registry
from core.store import ObjectStore, RawOverwriteError, put_raw
from extract.drop_folder import night_prefix
from extract.pastell_client import (
    ERRORS,
    ClientOptions,
    PastellAuthError,
    PastellClient,
    PastellError,
    PastellFileMissing,
    PastellNotFound,
)
from extract.source_pull import Outcome, Problem, PullResult, fetch_all, record_outcomes, report_foreign

log = logging.getLogger(__name__)

SOURCE = PASTELL_SOURCE
METADATA = "metadata.json"
# Form fields whose files the transform reads: act, stamped copy, annexes, acknowledgement.
FILE_FIELDS = ("arrete", "acte_tamponne", "autre_document_attache", "aractes")
# Last actions of a document still being written, signed or transmitted (actes-generique and
# actes-automatique definitions): not an act yet, so not listed for a detail request.
IN_PROGRESS_STATES = frozenset({
    "creation", "importation", "send-signature-local", "prepare-iparapheur", "send-iparapheur",
    "verif-iparapheur", "recu-iparapheur", "rejet-iparapheur", "erreur-verif-iparapheur", "prepare-tdt",
    "send-tdt", "send-tdt-erreur", "document-transmis-tdt", "teletransmission-tdt",
    "return-teletransmission-tdt", "verif-tdt", "erreur-verif-tdt", "tdt-error",
})
# "modification" may come after the acknowledgement (the agent changes publication_open_data):
# such a document is judged on its detail.
EDITING_STATES = IN_PROGRESS_STATES | {"modification"}
_SAFE_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_SAFE_NAME = re.compile(r"^[^/\\\x00]{1,255}$")


def night_cutoff(night: str) -> str:
    """End of night ``D``'s data interval as Pastell writes dates, ``D+1 HH:MM:00``, for a run without
    a scheduler's interval (the CLI, a rerun of a given night)."""
    minute, hour = NIGHTLY_CRON.split()[:2]
    day = date.fromisoformat(night) + timedelta(days=1)
    return f"{day.isoformat()} {int(hour):02d}:{int(minute):02d}:00"


def _moment(value) -> str:
    """Pastell dates (``2019-05-16 10:02:19``) as comparable strings; ISO ``T`` accepted."""
    return str(value or "").strip().replace("T", " ")[:19]


def row_stamp(row: dict) -> str:
    """When a listed document last changed: its last action, or a later form modification."""
    return max(_moment(row.get("last_action_date")), _moment(row.get("modification")))


def _names(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _checked(value) -> bool:
    return str(value or "").strip().lower() not in ("", "0", "off", "false", "non", "no")


def is_act(detail: dict) -> bool:
    """Whether a document is an act to read: acknowledged by the préfecture, or finished without it."""
    data = detail.get("data") if isinstance(detail.get("data"), dict) else {}
    if _names(data.get("aractes")):
        return True
    if _checked(data.get("envoi_tdt")):
        return False
    last = detail.get("last_action") if isinstance(detail.get("last_action"), dict) else {}
    return str(last.get("action") or "") not in EDITING_STATES


@dataclass
class BodyState:
    """What the pull remembers of one body between nights."""

    id_e: str
    watermark: str = ""
    at_watermark: list[str] = field(default_factory=list)
    pending: dict[str, dict] = field(default_factory=dict)
    last_night: str = ""

    def seen(self, stamp: str, id_d: str) -> bool:
        if not self.watermark:
            return False
        return stamp < self.watermark or (stamp == self.watermark and id_d in self.at_watermark)


def load_state(store: ObjectStore, sirens: Iterable[str] | None = None) -> dict[str, BodyState]:
    """The bodies' states (``sirens``: only these; None: every body's): each body's own object, else
    its entry in the single file kept before (read once, until the body's own object is written)."""
    wanted = None if sirens is None else set(sirens)
    if wanted is None:
        named = {key.rsplit("/", 1)[1][:-len(".json")] for key in store.list_keys(STATE_PREFIX + "/")
                 if key.endswith(".json")}
    else:
        named = {siren for siren in wanted if store.exists(pastell_body_state_key(siren))}
    states = {siren: BodyState(**json.loads(store.get_bytes(pastell_body_state_key(siren)).decode("utf-8")))
              for siren in sorted(named)}
    if store.exists(STATE_KEY):
        document = json.loads(store.get_bytes(STATE_KEY).decode("utf-8"))
        for siren, entry in document.get("bodies", {}).items():
            if siren not in states and (wanted is None or siren in wanted):
                states[siren] = BodyState(**entry)
    return states


def save_state(store: ObjectStore, siren: str, state: BodyState) -> None:
    """One body's state, in its own object: shards pulling other bodies never rewrite it."""
    store.put_bytes(pastell_body_state_key(siren), _dumps(asdict(state)))


def forget_states(store: ObjectStore) -> None:
    """Every body's watermark gone: the next pull lists everything again (tests, a full re-pull)."""
    for key in [*store.list_keys(STATE_PREFIX + "/"), STATE_KEY]:
        store.delete(key)


def metadata_bytes(detail: dict, id_e: str) -> bytes:
    """The detail as received, with ``id_e`` in front when Pastell did not give it."""
    document = detail if "id_e" in detail else {"id_e": str(id_e), **detail}
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _fetch_and_store(
    client: PastellClient, store: ObjectStore, body: Body, id_e: str, id_d: str, prefix: str,
    file_fields: tuple[str, ...],
) -> Outcome:
    """One document: detail, files, then raw (files first, ``metadata.json`` last)."""
    if not _SAFE_ID.match(id_d):
        return Outcome(id_d, "failed", f"id_d {id_d!r} cannot name a raw folder")
    try:
        detail = client.document(id_e, id_d)
    except PastellNotFound:
        return Outcome(id_d, "deleted", "deleted in Pastell between the list and the detail")
    if not is_act(detail):
        return Outcome(id_d, "waiting", "not an act yet (being written, or awaiting the acknowledgement)")
    data = detail.get("data") or {}
    folder = f"{prefix}siren={body.siren}/{id_d}/"
    files: dict[str, bytes] = {}
    skipped: list[dict] = []
    lost: list[str] = []
    for field_name in file_fields:
        for num, name in enumerate(_names(data.get(field_name))):
            if not _SAFE_NAME.match(name) or name in (".", "..") or name == METADATA:
                skipped.append({"folder": folder, "file": name, "reason": f"{field_name}: unusable file name"})
                continue
            try:
                content = client.file(id_e, id_d, field_name, num)
            except PastellNotFound:
                try:
                    client.document(id_e, id_d)
                except PastellNotFound:
                    return Outcome(id_d, "deleted", "deleted in Pastell while its files were fetched")
                skipped.append({"folder": folder, "file": name,
                                 "reason": f"{field_name}[{num}] is named in the form but Pastell has no such file"})
                continue
            except PastellFileMissing as error:
                reason = f"{field_name}[{num}] {name!r} is named in the form but Pastell has no such file ({error})"
                skipped.append({"folder": folder, "file": name, "reason": reason})
                lost.append(reason)
                continue
            # Kept whatever its size or kind: the transform judges what may be published.
            if name in files and files[name] != content:
                reason = f"{field_name}: another file of the document has this name"
                skipped.append({"folder": folder, "file": name, "reason": reason})
            else:
                files[name] = content
    try:
        new = False
        for name, content in sorted(files.items()):
            new |= put_raw(store, folder + name, content)
        new |= put_raw(store, folder + METADATA, metadata_bytes(detail, id_e))
    except RawOverwriteError:
        return Outcome(id_d, "failed",
                        "changed since this night stored it; the new version goes to the next night", skipped=skipped)
    nature = str(data.get("acte_nature") or "")
    acknowledgements = [files[name] for name in _names(data.get("aractes")) if name in files]
    id_acte = str(data.get("acte_unique_id") or "").strip() or (id_acte_of(acknowledgements[0]) if acknowledgements
                                                                 else "")
    written = {"siren": body.siren, "id_d": id_d, "raw_prefix": folder, "files": sorted(files), "new": new,
               "nature": nature, "id_acte": id_acte,
               "foreign": foreign_siren(id_acte, body.siren, nature, body.budget_establishments)}
    return Outcome(id_d, "written", written=written, skipped=skipped, lost=lost)


def _pull_body(
    client: PastellClient, store: ObjectStore, body: Body, state: BodyState, night: str,
    cutoff: str, flows: tuple[str, ...], file_fields: tuple[str, ...], max_workers: int, result: PullResult,
) -> BodyState:
    id_e = str(body.pastell_id_e)
    changed_after = None
    if state.watermark:
        changed_after = (date.fromisoformat(state.watermark[:10]) - timedelta(days=1)).isoformat()
    considered: dict[str, str] = {}
    todo: list[str] = []
    unsettled = []
    for flow in flows:
        listing = client.listing(id_e, flow, changed_after=changed_after)
        if not listing.complete:
            unsettled.append(flow)
        for row in listing.rows:
            id_d, stamp = str(row["id_d"]), row_stamp(row)
            if stamp > cutoff or state.seen(stamp, id_d) or id_d in considered:
                continue
            considered[id_d] = stamp
            if str(row.get("last_action") or "") in IN_PROGRESS_STATES:
                result.waiting.append(Problem(body.siren, id_d, f"in progress ({row.get('last_action')})"))
            else:
                todo.append(id_d)
    todo += sorted(set(state.pending) - set(todo))
    prefix = night_prefix(night, SOURCE)
    outcomes = fetch_all(todo, lambda id_d: _fetch_and_store(client, store, body, id_e, id_d, prefix, file_fields),
                         str, ERRORS, max_workers, "pastell")
    pending = record_outcomes(result, "Pastell", body.siren, outcomes, state.pending, night)
    report_foreign(
        result, body.siren, f"Pastell entity id_e={id_e}", [o.written for o in outcomes if o.kind == "written"],
        f"entity: set body {body.siren}'s own pastell_id_e in the registry (or the SIREN of entity {id_e})")
    if unsettled:
        result.unsettled("Pastell", body.siren,
                         f"the list of {', '.join(unsettled)} documents changed at each of "
                         f"{client.options.max_listings} readings: the watermark stays, the range is listed again "
                         "next night")
        return BodyState(id_e, state.watermark, list(state.at_watermark), pending, night)
    stamps = [s for s in considered.values() if s]
    watermark = max([state.watermark, *stamps]) if stamps else state.watermark
    at_watermark = {i for i, s in considered.items() if s == watermark}
    if watermark == state.watermark:
        at_watermark |= set(state.at_watermark)
    return BodyState(id_e, watermark, sorted(at_watermark), pending, night)


# Pastell's journal: an event of type 1 is an action on a document (``Journal::DOCUMENT_ACTION``: a
# state change, a form modification); the others (consultations, connections...) change no document.
DOCUMENT_ACTION = "1"


@dataclass
class JournalState:
    """Where the short runs' reading of the journal stopped (Pastell's clock: the last run's cutoff),
    and the bodies whose last listing failed or left documents pending: listed again whatever it says."""

    read_until: str
    relist: list[str] = field(default_factory=list)


def load_journal(store: ObjectStore) -> JournalState | None:
    if not store.exists(JOURNAL_KEY):
        return None
    return JournalState(**json.loads(store.get_bytes(JOURNAL_KEY).decode("utf-8")))


def _journal_changes(client: PastellClient, state: JournalState | None, bodies: list[Body],
                     flows: tuple[str, ...]) -> tuple[dict[str, tuple[str, ...]] | None, str]:
    """Per body (SIREN), the flows whose documents Pastell's journal shows changed since the last
    reading (an overlap earlier); None, with the reason, when the journal cannot say: no reading yet,
    the user may not read it (403), or this Pastell has no such API (404)."""
    if state is None:
        return None, "no journal reading yet: every body listed"
    since = (datetime.fromisoformat(state.read_until) - timedelta(seconds=client.options.journal_overlap_seconds))
    by_id_e = {str(b.pastell_id_e): b.siren for b in bodies}
    changed: dict[str, set[str]] = {siren: set(flows) for siren in state.relist if siren in by_id_e.values()}
    try:
        for event in client.journal(since.strftime("%Y-%m-%d %H:%M:%S")):
            siren = by_id_e.get(str(event.get("id_e")))
            if siren and str(event.get("type")) == DOCUMENT_ACTION and event.get("document_type") in flows:
                changed.setdefault(siren, set()).add(str(event["document_type"]))
    except (PastellAuthError, PastellNotFound) as error:
        if isinstance(error, PastellAuthError) and error.status != 403:
            raise
        return None, f"the journal cannot be read ({error}): every body listed"
    return {siren: tuple(f for f in flows if f in found) for siren, found in changed.items()}, "journal"


def pull_night(
    store: ObjectStore, registry: Registry, client: PastellClient, night: str,
    flows: tuple[str, ...], *, file_fields: tuple[str, ...] = FILE_FIELDS, max_workers: int = 4,
    cutoff: str | None = None, only: Callable[[str], bool] = lambda siren: True, journal: bool = False,
) -> PullResult:
    """Pull every body's changed documents of night ``night`` into the raw zone.

    Raises ``PastellAuthError`` at once on 401/403 (nothing else can work); any other
    failure of a body (its entity missing, its list unavailable) is reported and the
    next body goes on. ``cutoff`` is the end of the run's data interval in Pastell's clock (the
    scheduler's); by default, that of the nightly schedule for ``night``. ``only``: the bodies (by
    SIREN) this pull takes (a shard's); their states alone are read and written.

    With ``journal`` (short runs), Pastell's journal says which bodies and flows changed since the
    last reading: only those are listed (each from its own watermark, as every night does), so a run
    costs what changed, not two requests per body. Where the journal cannot say, every body is listed.
    """
    cutoff = cutoff or night_cutoff(night)
    result = PullResult(SOURCE, night, cutoff)
    bodies = sorted((b for b in registry.bodies if b.pastell_id_e and only(b.siren)), key=lambda b: b.siren)
    sent_before = client.requests_sent
    try:
        entities = {str(e.get("id_e")): e for e in client.entities() if isinstance(e, dict)} if bodies else {}
        flows_of = {b.siren: tuple(flows) for b in bodies}
        if journal:
            before_journal = load_journal(store)
            changed, how = _journal_changes(client, before_journal, bodies, tuple(flows))
            if changed is not None:
                flows_of = changed
            result.listing = {"by": "journal" if changed is not None else "bodies", "reason": how,
                              "bodies_listed": len(flows_of)}
            log.info("Pastell %s: %s, %d bodies to list", night, how, len(flows_of))
        bodies = [b for b in bodies if b.siren in flows_of]
        states = load_state(store, [b.siren for b in bodies])
        for body in bodies:
            id_e = str(body.pastell_id_e)
            entity = entities.get(id_e)
            entity_siren = str((entity or {}).get("siren") or "").strip()
            if entity is None:
                reason = f"Pastell entity id_e={id_e} is not visible to connection {client.credentials.conn_id!r}"
            elif entity_siren and entity_siren != body.siren:
                reason = f"Pastell entity id_e={id_e} has SIREN {entity_siren}, the registry says {body.siren}"
            else:
                reason = None
            if reason:
                result.body_errors.append({"siren": body.siren, "reason": reason})
                log.warning("Pastell body %s skipped: %s", body.siren, reason)
                continue
            state = states.get(body.siren)
            if state is None or state.id_e != id_e:
                state = BodyState(id_e)
            before = states.get(body.siren)
            try:
                pulled = _pull_body(
                    client, store, body, state, night, cutoff, flows_of[body.siren], tuple(file_fields),
                    max_workers, result,
                )
            except PastellAuthError:
                raise
            except PastellError as error:
                result.body_errors.append({"siren": body.siren, "reason": str(error)})
                log.warning("Pastell body %s not pulled, retried next night: %s", body.siren, error)
                continue
            # A body with nothing new costs no write (a short run every few minutes finds most so).
            if before is None or replace(pulled, last_night=before.last_night) != before:
                states[body.siren] = pulled
                save_state(store, body.siren, pulled)
        result.pending = {siren: sorted(s.pending) for siren, s in sorted(states.items()) if s.pending}
        if journal:  # listed up to the cutoff: the next reading starts there (an overlap earlier)
            relist = {e["siren"] for e in result.body_errors} | {u["siren"] for u in result.unlisted} | \
                set(result.pending)
            read_until = max(cutoff, before_journal.read_until) if before_journal else cutoff
            store.put_bytes(JOURNAL_KEY, _dumps(asdict(JournalState(read_until, sorted(relist)))))
    finally:
        result.requests = client.requests_sent - sent_before
    return result


def quiet(summary: dict) -> bool:
    """Whether a pull found nothing: no act in its raw folder, no document failed, deleted or lost."""
    return not (summary["acts"] or summary["pulled"] or summary["failed"] or summary["deleted"]
                or summary["incomplete"] or summary["body_errors"] or summary["unlisted"])


def extract_night(settings: Settings, store: ObjectStore, registry: Registry, night: str,
                  cutoff: str | None = None, only: Callable[[str], bool] = lambda siren: True) -> dict:
    """The actes chain's extract step for ``source_name == "pastell"`` (the bodies ``only`` keeps):
    pull and summarise; the caller writes the pull's report once its shards are merged. A short run
    learns from Pastell's journal which bodies to list; a night lists every body (the repair pass)."""
    options = ClientOptions.from_mapping(settings.pastell_client)
    with PastellClient.from_connection(settings.pastell_conn_id, options) as client:
        result = pull_night(store, registry, client, night, settings.pastell_flows, max_workers=options.max_workers,
                            cutoff=cutoff, only=only, journal=is_short_run(night))
    summary = result.summary(store, lambda folder: only(folder.split("=", 1)[-1]))
    log.info("Pastell night %s: %d documents pulled, %d failed, %d deleted, %d requests",
             night, summary["pulled"], len(summary["failed"]), len(summary["deleted"]), summary["requests"])
    return summary


_SUMMED = ("acts", "pulled", "waiting", "requests")
_JOINED = ("skipped_files", "failed", "deleted", "cancelled", "incomplete", "body_errors", "unlisted", "foreign",
           "alerts")


def merged_summary(summaries: list[dict]) -> dict:
    """The summaries of a night's shards as the one of a pull of every body (counts added, lists
    joined in body order)."""
    if len(summaries) == 1:
        return summaries[0]
    merged = {**summaries[0]}
    for key in _SUMMED:
        merged[key] = sum(s[key] for s in summaries)
    for key in _JOINED:
        merged[key] = sorted((item for s in summaries for item in s[key]), key=lambda item: json.dumps(item, sort_keys=True))
    merged["by_body"] = dict(sorted((body, n) for s in summaries for body, n in s["by_body"].items()))
    merged["budgets"] = sorted(prefix for s in summaries for prefix in s["budgets"])
    merged["pending"] = dict(sorted((siren, ids) for s in summaries for siren, ids in s["pending"].items()))
    return merged


def write_pull_report(store: ObjectStore, night: str, summary: dict) -> None:
    """The night's pull report (``pastell-pull.json``); a short run that found nothing leaves no trace."""
    if not (is_short_run(night) and quiet(summary)):
        store.put_bytes(report_key("actes", night, "pastell-pull.json"), _dumps(summary))
