"""Agents' decisions: into the ledger at once, then every output follows through the decisions run.

The ledger write is the decision (the next night applies it whatever happens next); the
republication is the same as ``digor publish``'s: in this process, one operation at a time under
the chain's lease (``chains.chain.republish_decisions``), or a run of the ``actes_decisions`` DAG
triggered through Airflow's API, whose end shows in the ledger (``core.ledger.is_applied``).
A body's settings changed by its agents go the same way: a ledger event, then the body's
years republished. The portail writes nothing else in the data's store: the ledger, and the
decisions run; each operation's progress is kept in the portail's own store, so that its page
still answers after a restart.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from chains import actes as actes_chain
from chains.chain import republish_decisions
from core.config import PortailSettings, Settings
from core.failures import ExpectedFailure, one_line
from core.http_manners import redact
from core.keys import portail_operation_key
from core.lease import LeaseLost, LockBusy
from core.ledger import agent_actor, is_applied, write_settings_event
from core.store import ObjectStore, open_store
from portail.acts import Action
from portail.auth import Agent

log = logging.getLogger("digor.portail")

RUNNING, TRIGGERED, DONE, FAILED = "en-cours", "declenche", "termine", "echec"


@dataclass
class Operation:
    """One decision form sent: the acts it recorded and where their republication stands."""

    id: str
    owner: str  # the agent's subject: only they follow it
    action: str
    acts: list[dict]
    state: str = RUNNING
    message: str = ""
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    finished: str = ""
    kind: str = "decision"  # or "settings": a body's settings, whose years are republished
    bodies: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return self.state in (DONE, FAILED)


def _recorded(operation: Operation) -> str:
    return "Les paramètres sont enregistrés" if operation.kind == "settings" else "La décision est enregistrée"


class RateLimiter:
    """At most ``limit`` actions per agent in any minute (a sliding window, in this process)."""

    def __init__(self, limit: int, window: float = 60.0):
        self.limit, self.window = limit, window
        self.seen: dict[str, deque] = {}
        self.lock = threading.Lock()

    def allow(self, who: str) -> bool:
        now = time.monotonic()
        with self.lock:
            recent = self.seen.setdefault(who, deque())
            while recent and now - recent[0] > self.window:
                recent.popleft()
            if len(recent) >= self.limit:
                return False
            recent.append(now)
            return True


class Decisions:
    """Records agents' decisions and applies them; keeps each operation's state for its page."""

    KEPT = 500  # operations remembered (the ledger keeps the decisions themselves)

    def __init__(self, settings: Settings, portail: PortailSettings, state: ObjectStore | None = None):
        self.settings = settings
        self.portail = portail
        self.state = state or open_store(portail.state_url)
        self.operations: dict[str, Operation] = {}
        self.lock = threading.Lock()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portail-decisions")

    def record(self, agent: Agent, acts: list, action: Action, reason: str) -> Operation:
        """Write one ledger event per act (``acts``: rows of ``portail.acts.Acts``), then start their
        republication; the returned operation says when it is done."""
        recorded = [
            actes_chain.record_decision(self.settings, int(act["year"]), act, action.decision, reason,
                                        actor=agent_actor(agent.identity))
            for act in acts
        ]
        operation = Operation(
            id=secrets.token_urlsafe(12), owner=agent.sub, action=action.label,
            acts=[{**r, "numero": act["numero"]} for r, act in zip(recorded, acts)],
        )
        log.info("decision %s recorded for %d act(s) of %s by agent %s (operation %s)", action.decision.value,
                 len(recorded), ",".join(sorted({r["siren"] for r in recorded})), agent.pseudonym, operation.id)
        return self._start(operation)

    def change_settings(self, agent: Agent, siren: str, body_settings: dict, reason: str) -> Operation:
        """Record a body's new settings in the ledger, then republish the body's years with them."""
        write_settings_event(actes_chain.CHAIN.store(self.settings), siren, body_settings,
                             agent_actor(agent.identity), reason)
        operation = Operation(id=secrets.token_urlsafe(12), owner=agent.sub, action="Paramètres enregistrés",
                              acts=[], kind="settings", bodies=[siren],
                              years=actes_chain.body_years(self.settings, siren))
        log.info("settings of %s changed by agent %s (operation %s)", siren, agent.pseudonym, operation.id)
        return self._start(operation)

    def _start(self, operation: Operation) -> Operation:
        with self.lock:
            self.operations[operation.id] = operation
            for old in list(self.operations)[: max(0, len(self.operations) - self.KEPT)]:
                del self.operations[old]
        self._save(operation)
        self.worker.submit(self._apply, operation)
        return operation

    def _save(self, operation: Operation) -> None:
        self.state.put_bytes(portail_operation_key(operation.id),
                             json.dumps(asdict(operation), ensure_ascii=False).encode())

    def _apply(self, operation: Operation) -> None:
        decided = [{"siren": a["siren"], "source_id": a["source_id"], "year": a["year"]} for a in operation.acts]
        try:
            if self.portail.decisions == "airflow":
                from orchestration.airflow_trigger import DECISIONS_DAG, trigger_decisions_run, trigger_run
                from orchestration.regions import region_dag_id

                region = self.settings.region
                run = (trigger_decisions_run(decided, self.settings.store_url, region) if operation.kind == "decision" else
                       trigger_run(region_dag_id(DECISIONS_DAG, region), {"years": operation.years, "bodies": operation.bodies, "acts": [],
                                                   "store": self.settings.store_url}))
                operation.state = TRIGGERED
                operation.message = f"Exécution {run.run_id} de {run.dag_id} déclenchée dans Airflow."
                if run.paused:
                    operation.message += f" Attention : {run.dag_id} est en pause dans Airflow."
                return
            label = f"{operation.kind}-{operation.started.replace(':', '')}"

            def waiting(message: str) -> None:
                operation.message = "En attente de la fin d'une autre publication en cours…"

            if operation.kind == "decision":
                republish_decisions(self.settings, "actes", decided, label, on_wait=waiting)
            elif operation.years:
                actes_chain.CHAIN.republish(self.settings, operation.years, operation.bodies, label, on_wait=waiting)
            operation.state, operation.message = DONE, ""
        except (LockBusy, LeaseLost, ExpectedFailure) as error:
            log.warning("operation %s not applied yet: %s", operation.id, redact(one_line(error)))
            operation.state = FAILED
            operation.message = (f"{_recorded(operation)}, mais sa publication n'a pas pu se faire maintenant : "
                                 "la prochaine publication de la nuit l'appliquera.")
        except Exception:
            log.exception("operation %s failed", operation.id)
            operation.state = FAILED
            operation.message = (f"{_recorded(operation)}, mais sa publication a échoué : l'équipe technique est "
                                 "prévenue par le journal et la prochaine publication de la nuit l'appliquera.")
        finally:
            if operation.state in (DONE, FAILED):
                operation.finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self._save(operation)

    def _load(self, operation_id: str) -> Operation | None:
        """An operation of an earlier process of the portail, from its store."""
        if not operation_id.replace("-", "").replace("_", "").isalnum() or len(operation_id) > 40:
            return None
        try:
            operation = Operation(**json.loads(self.state.get_bytes(portail_operation_key(operation_id))))
        except (FileNotFoundError, ValueError, TypeError):
            return None
        if operation.state == RUNNING:  # that process stopped before the republication ended
            store = actes_chain.CHAIN.store(self.settings)
            applied = operation.kind == "decision" and all(
                is_applied(store, a["year"], a["ledger_key"]) for a in operation.acts)
            operation.state = DONE if applied else FAILED
            operation.message = "" if applied else (
                f"{_recorded(operation)}, mais sa publication a été interrompue : la prochaine publication "
                "de la nuit l'appliquera.")
            operation.finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self._save(operation)
        return operation

    def status(self, operation_id: str, agent: Agent) -> Operation | None:
        """The agent's own operation, its state brought up to date; None for anyone else's."""
        operation = self.operations.get(operation_id) or self._load(operation_id)
        if operation is None or operation.owner != agent.sub:
            return None
        if operation.state == TRIGGERED and operation.kind == "decision":
            store = actes_chain.CHAIN.store(self.settings)
            if all(is_applied(store, a["year"], a["ledger_key"]) for a in operation.acts):
                operation.state = DONE
                operation.finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
                self._save(operation)
        return operation

    def close(self) -> None:
        self.worker.shutdown(wait=True)
