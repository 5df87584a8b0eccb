"""Source: the nightly incremental pull of acts from S²LOW into the raw zone.

For each body of the registry on S²LOW (``source: s2low``), through its own connection (its
authority's certificate), the transactions that reached an acknowledged status
(``core.config.S2LOW_ACT_STATUSES``) since the body's last night are listed, and each new one's
status, files, stamped act and acknowledgement are written to
``raw/actes/s2low/date=<night>/siren=<siren>/<transaction id>/``: the layout of the Pastell
source, which the same transform reads (``transform.s2low_acts`` maps S²LOW's answers to the
act's fields). ``metadata.json`` holds what S²LOW said (the list's row, the status, the files
list) and which stored file is which; files keep the name the agent gave them
(``posted_filename``), the ACTES message and the acknowledgement S²LOW's names.

Night ``D`` lists the statuses reached up to D+1 at midnight (S²LOW filters by day): a rerun
asks for nothing newer. Transactions never change once acknowledged (a correction is a new
transaction), so a body's state (``private/s2low/watermarks.json``) keeps the ids already
stored, and a transaction moving on to the archiving statuses is not pulled twice. A
transaction that fails is reported and retried next night (``pending``) while the others go
on; a file S²LOW lists but can no longer give is reported once with its act (``incomplete``),
stored without it and judged by the transform's rules. A list of several pages is read until two
readings agree (an act moving on between two page reads would hide another); one that never
settles is reported (``unlisted``) and its days are listed again the next night. A body whose
certificate S²LOW refuses, or whose connection is wrong, is reported and the others are pulled;
when every body fails so, the night fails with that message.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from core.act_identity import foreign_siren, id_acte_of
from core.config import (
    S2LOW_ACT_STATUSES,
    S2LOW_ACT_TYPE,
    S2LOW_CANCELLED_STATUS,
    Settings,
)
from core.jsonio import json_bytes as _dumps
from core.keys import S2LOW_STATE_KEY as STATE_KEY
from core.keys import report_key
from core.registry import S2LOW_SOURCE, Body, Registry
from core.store import ObjectStore, RawOverwriteError, put_raw
from extract import source_pull
from extract.drop_folder import night_prefix
from extract.s2low_client import (
    ERRORS,
    ClientOptions,
    S2lowAuthError,
    S2lowClient,
    S2lowConfigError,
    S2lowError,
    S2lowFileMissing,
    S2lowNotFound,
    S2lowNotYet,
)
from extract.source_pull import Outcome, Problem, PullResult, fetch_all, record_outcomes

log = logging.getLogger(__name__)

SOURCE = S2LOW_SOURCE
METADATA = "metadata.json"
ACKNOWLEDGEMENT = "ARActe.xml"
STAMPED_SUFFIX = "-tampon"
_SAFE_ID = re.compile(r"^[0-9]{1,18}$")
_SAFE_NAME = re.compile(r"^[^/\\\x00]{1,255}$")


@dataclass
class BodyState:
    """What the pull remembers of one body between nights."""

    conn_id: str
    since: str = ""  # the day the next listing starts from
    known: list[str] = field(default_factory=list)  # transactions already stored
    pending: dict[str, dict] = field(default_factory=dict)
    last_night: str = ""
    cancelled: list[str] = field(default_factory=list)  # stored transactions stored again as cancelled


def load_state(store: ObjectStore) -> dict[str, BodyState]:
    return source_pull.load_state(store, STATE_KEY, BodyState)


def save_state(store: ObjectStore, states: dict[str, BodyState]) -> None:
    source_pull.save_state(store, STATE_KEY, states)


def _stored_name(file: dict, taken: set[str]) -> str:
    """The agent's name of a file when usable and free, else S²LOW's."""
    for candidate in (str(file.get("posted_filename") or ""), str(file.get("name") or ""), f"file-{file['id']}"):
        if candidate and _SAFE_NAME.match(candidate) and candidate not in (".", "..", METADATA, ACKNOWLEDGEMENT) \
                and candidate not in taken:
            return candidate
    return f"file-{file['id']}"


def _stamped_name(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return f"{stem}{STAMPED_SUFFIX}.{extension}" if dot else f"{name}{STAMPED_SUFFIX}"


def _fetch_and_store(client: S2lowClient, store: ObjectStore, body: Body, row: dict, prefix: str,
                     statuses: tuple[int, ...]) -> Outcome:
    """One transaction: status, files list, files (the act stamped too), acknowledgement; ``metadata.json`` last."""
    id_d = str(row.get("id") or "")
    if not _SAFE_ID.match(id_d):
        return Outcome(id_d, "failed", f"transaction id {id_d!r} cannot name a raw folder")
    folder = f"{prefix}siren={body.siren}/{id_d}/"
    if store.exists(folder + METADATA):  # stored by an earlier run of this night: S²LOW never changes it
        stored_ack = store.get_bytes(folder + ACKNOWLEDGEMENT) if store.exists(folder + ACKNOWLEDGEMENT) else b""
        return Outcome(id_d, "written", written={"siren": body.siren, "id_d": id_d, "raw_prefix": folder,
                                                  "files": [], "new": False, "nature": "",
                                                  **_authority(body, stored_ack, "")})
    try:
        status, _ = client.status(id_d)
    except S2lowNotFound:
        return Outcome(id_d, "deleted", "unknown to S²LOW between the list and the status")
    if status not in statuses:
        return Outcome(id_d, "waiting", f"status {status} is not an acknowledged act")
    try:
        listed = client.files(id_d)
    except S2lowNotYet as error:
        return Outcome(id_d, "waiting", str(error))
    files: dict[str, bytes] = {}
    stored: dict = {"message": None, "acte": None, "acte_tamponne": None, "annexes": [], "aractes": None}
    skipped: list[dict] = []
    lost: list[str] = []
    message = listed[0] if listed and str(listed[0].get("mimetype") or "").endswith("xml") else None
    documents = [f for f in listed if f is not message]
    roles = [("message", message)] * (message is not None)
    roles += [("acte" if index == 0 else "annexe", file) for index, file in enumerate(documents)]
    for role, file in roles:
        name = _stored_name(file, set(files) | {s["file"] for s in skipped})
        if role == "annexe":
            stored["annexes"].append(name)
        else:
            stored[role] = name
        try:
            content = client.download(str(file["id"]))
        except S2lowFileMissing as error:
            reason = f"file {file['id']} {name!r} is listed but S²LOW cannot give it ({error})"
            skipped.append({"folder": folder, "file": name, "reason": reason})
            lost.append(reason)
            continue
        files[name] = content
        if role == "acte" and str(file.get("mimetype") or "") == "application/pdf":
            try:
                stamped = client.download(str(file["id"]), stamped=True)
            except S2lowFileMissing:
                stamped = content
            if stamped != content:  # S²LOW gave the act as it was: no second copy
                stored["acte_tamponne"] = _stamped_name(name)
                files[stored["acte_tamponne"]] = stamped
    try:
        files[ACKNOWLEDGEMENT] = client.acknowledgement(id_d)
        stored["aractes"] = ACKNOWLEDGEMENT
    except S2lowNotFound as error:
        return Outcome(id_d, "failed", f"acknowledged but its ARActe is not available yet ({error})", skipped=skipped)
    metadata = {"source": SOURCE, "siren": body.siren, "connection": client.credentials.conn_id, "transaction": row,
                "status": status, "files": listed, "stored": stored}
    try:
        new = False
        for name, content in sorted(files.items()):
            new |= put_raw(store, folder + name, content)
        new |= put_raw(store, folder + METADATA, (json.dumps(metadata, ensure_ascii=False, indent=2) + "\n").encode())
    except RawOverwriteError:
        return Outcome(id_d, "failed", "S²LOW gave other bytes than this night stored; retried next night",
                        skipped=skipped)
    nature = _nature(files.get(stored["message"] or "", b""))
    written = {"siren": body.siren, "id_d": id_d, "raw_prefix": folder, "files": sorted(files), "new": new,
               "nature": nature, **_authority(body, files[ACKNOWLEDGEMENT], nature)}
    return Outcome(id_d, "written", written=written, skipped=skipped, lost=lost)


def _authority(body: Body, acknowledgement: bytes, nature: str) -> dict:
    """The act's ACTES identifier (the ARActe's ``IDActe``) and the other SIREN it names, if any."""
    id_acte = id_acte_of(acknowledgement) if acknowledgement else ""
    return {"id_acte": id_acte, "foreign": foreign_siren(id_acte, body.siren, nature, body.budget_establishments)}


def _nature(message: bytes) -> str:
    found = re.search(rb'CodeNatureActe="(\d+)"', message)
    return found.group(1).decode() if found else ""


def _pull_body(client: S2lowClient, store: ObjectStore, body: Body, state: BodyState, night: str,
               statuses: tuple[int, ...], max_workers: int, result: PullResult) -> BodyState:
    until = (date.fromisoformat(night) + timedelta(days=1)).isoformat()
    known, cancelled = set(state.known), set(state.cancelled)
    rows: dict[str, dict] = {}
    cancelling: dict[str, dict] = {}
    unsettled = []
    # In the order an act goes through them (one moving on is found in the next), the annulled last.
    for status in (*statuses, S2LOW_CANCELLED_STATUS):
        listed, complete = client.listing(status, min_date=state.since or None, max_date=until)
        if not complete:
            unsettled.append(status)
        for row in listed:
            key = str(row.get("id"))
            if str(row.get("type") or S2LOW_ACT_TYPE) != S2LOW_ACT_TYPE:
                continue  # an annulation, a mail of the préfecture: not an act
            if status == S2LOW_CANCELLED_STATUS:
                if key in known and key not in cancelled:
                    cancelling[key] = row  # published perhaps: stored again, withdrawn by the transform
            else:
                rows.setdefault(key, row)
    todo = [row for key, row in sorted(rows.items()) if key not in known]
    todo += [entry["row"] for key, entry in sorted(state.pending.items())
             if key not in rows and key not in cancelling and key not in known]
    cancelling.update((key, entry["row"]) for key, entry in sorted(state.pending.items())
                      if key in known and key not in cancelled)
    todo += [row for _, row in sorted(cancelling.items())]
    prefix = night_prefix(night, SOURCE)

    def fetch(row: dict) -> Outcome:
        wanted = (S2LOW_CANCELLED_STATUS,) if str(row.get("id")) in cancelling else statuses
        return _fetch_and_store(client, store, body, row, prefix, wanted)

    outcomes = fetch_all(todo, fetch, lambda row: str(row.get("id")), ERRORS, max_workers, "s2low")
    rows_by_id = {str(row.get("id")): row for row in todo}
    pending = record_outcomes(result, "S²LOW", body.siren, outcomes, state.pending, night,
                              lambda id_d: {"row": rows_by_id[id_d]})
    stored = {outcome.id_d for outcome in outcomes if outcome.kind == "written"}
    through = f"S²LOW connection {client.credentials.conn_id!r}"
    wrong = source_pull.report_foreign(
        result, body.siren, through, [o.written for o in outcomes if o.kind == "written" and o.id_d not in cancelling],
        f"certificate: give it body {body.siren}'s own certificate (or set the body's s2low_conn_id in the registry); "
        "its days are listed again the next night")
    known |= stored - set(cancelling)
    cancelled |= stored & set(cancelling)
    for id_d in sorted(stored & set(cancelling)):
        result.cancelled.append(Problem(body.siren, id_d, "cancelled on S²LOW: withdrawn"))
    if unsettled:
        result.unsettled("S²LOW", body.siren,
                         f"the list of statuses {unsettled} changed at each of {client.options.max_listings} "
                         "readings: the same days are listed again next night")
    if unsettled or wrong:  # the same days listed again: a connection given the right certificate finds the acts
        return BodyState(state.conn_id, state.since, sorted(known, key=int), pending, night, sorted(cancelled, key=int))
    since = max(state.since, night) if state.since else night
    return BodyState(state.conn_id, since, sorted(known, key=int), pending, night, sorted(cancelled, key=int))


def pull_night(store: ObjectStore, registry: Registry, open_client: Callable[[str], S2lowClient], night: str,
               *, default_source: str, default_conn_id: str, statuses: tuple[int, ...] = S2LOW_ACT_STATUSES,
               max_workers: int = 4) -> PullResult:
    """Pull the changed transactions of night ``night`` of every body on S²LOW into the raw zone.

    ``open_client(conn_id)`` gives the client of a connection (one per body's certificate).
    """
    result = PullResult(SOURCE, night)
    states = load_state(store)
    clients: dict[str, S2lowClient] = {}
    refusals: list[S2lowError] = []
    bodies = sorted(registry.bodies_on(SOURCE, default_source), key=lambda b: b.siren)
    try:
        for body in bodies:
            conn_id = body.s2low_conn_id or default_conn_id
            state = states.get(body.siren)
            if state is None or state.conn_id != conn_id:
                state = BodyState(conn_id, known=list(state.known) if state else [])
            try:
                if conn_id not in clients:
                    clients[conn_id] = open_client(conn_id)
                states[body.siren] = _pull_body(clients[conn_id], store, body, state, night, tuple(statuses),
                                                max_workers, result)
            except (S2lowAuthError, S2lowConfigError) as error:
                refusals.append(error)
                result.body_errors.append({"siren": body.siren, "reason": str(error)})
                log.warning("S²LOW body %s not pulled: %s", body.siren, error)
                continue
            except S2lowError as error:
                result.body_errors.append({"siren": body.siren, "reason": str(error)})
                log.warning("S²LOW body %s not pulled, retried next night: %s", body.siren, error)
                continue
            save_state(store, states)
        result.pending = {siren: sorted(s.pending) for siren, s in sorted(states.items()) if s.pending}
    finally:
        result.requests = sum(c.requests_sent for c in clients.values())
        for client in clients.values():
            client.close()
    if bodies and len(refusals) == len(bodies):
        raise refusals[0]
    return result


def extract_night(settings: Settings, store: ObjectStore, registry: Registry, night: str) -> dict:
    """The actes chain's extract step for the bodies on S²LOW: pull, report, summarise."""
    options = ClientOptions.from_mapping(settings.s2low_client)
    result = pull_night(store, registry, lambda conn_id: S2lowClient.from_connection(conn_id, options), night,
                        default_source=settings.source_name, default_conn_id=settings.s2low_conn_id,
                        max_workers=options.max_workers)
    summary = result.summary(store)
    store.put_bytes(report_key("actes", night, "s2low-pull.json"), _dumps(summary))
    log.info("S²LOW night %s: %d transactions pulled, %d failed, %d bodies in error, %d requests",
             night, summary["pulled"], len(summary["failed"]), len(summary["body_errors"]), summary["requests"])
    return summary
