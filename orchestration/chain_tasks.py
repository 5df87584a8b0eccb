"""TaskFlow tasks of every nightly chain: one line each around ``chains.chain.Chain``.

A DAG passes its chain's name; the nightly DAGs and ``actes_decisions`` publish through
exactly the same tasks. Heavy modules are imported when a task runs, not when a DAG is parsed.
"""

from __future__ import annotations

import logging

from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from core.config import DAG_TIMEZONE, Settings
from orchestration.regions import task_settings

log = logging.getLogger(__name__)


def _chain(name: str):
    from chains.chain import get_chain

    return get_chain(name)


def _param(name: str):
    return get_current_context()["params"].get(name)


def _settings() -> Settings:
    """The settings of the region the DAG serves (the deployment's by default); a run given a ``store``
    param (``digor ... --via-airflow --store``) works on that store."""
    settings = task_settings()
    return settings.with_overrides(store_url=_param("store")) if _param("store") else settings


def _lock(found, settings: Settings):
    """The chain's lease for this task, named after the task instance (shown to whoever waits)."""
    context = get_current_context()
    ti = context["ti"]
    index = f"[{ti.map_index}]" if getattr(ti, "map_index", -1) not in (-1, None) else ""
    return found.lock(settings, f"Airflow {context['dag'].dag_id} {context['run_id']} {ti.task_id}{index}", log.warning)


def _rebuilt() -> list[dict]:
    """The years ``publish_widgets`` rebuilt before its switch (a decision recorded during the run)."""
    return get_current_context()["ti"].xcom_pull(task_ids="publish_widgets", key="rebuilt") or []


def nights() -> list[str]:
    """The partitions of this run: the ``date`` param; else, for a run triggered by an Asset, the
    nights its events carry (several when the producer ran more than once since); else the
    logical date."""
    context = get_current_context()
    if _param("date"):
        return [_param("date")]
    events = context.get("triggering_asset_events") or {}
    found = sorted({night for batch in events.values() for e in batch
                    for night in (e.extra or {}).get("nights") or [(e.extra or {}).get("night")] if night})
    return found or [context["ds"]]


def _interval_end() -> str | None:
    """End of the scheduler's data interval in local time, unless the run was given its night."""
    end = get_current_context().get("data_interval_end")
    if _param("date") or end is None:
        return None
    return end.in_timezone(DAG_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


@task
def extract(chain: str) -> dict:
    """Under the chain's lease: a short run never pulls or stages while the night does."""
    found, settings = _chain(chain), _settings()
    with _lock(found, settings):
        return found.extract(settings, nights()[-1], _interval_end())


@task
def transform(chain: str, extracted: dict | None = None) -> dict:
    found, settings = _chain(chain), _settings()
    with _lock(found, settings):
        if extracted:  # the nights its extract fetched (it may finish a night an earlier run left)
            return found.transform_nights(settings, extracted.get("nights") or [extracted["night"]])
        return found.transform_nights(settings, found.nights_to_transform(settings, nights()))


@task
def plan_shards(chain: str) -> list[dict]:
    """Under the lease: the night's shards of bodies (``Chain.begin_shards``), one mapped extract and
    transform each; short runs stay off until ``merge_transforms``."""
    found, settings = _chain(chain), _settings()
    with _lock(found, settings):
        return found.begin_shards(settings, nights()[-1])


@task
def end_shards(chain: str) -> None:
    """Under the lease, the teardown of ``plan_shards``: runs once the shards are done, even failed, and
    lets short runs in again (clearing a failed shard in Airflow clears its setup too: it marks again)."""
    found, settings = _chain(chain), _settings()
    with _lock(found, settings):
        found.end_shards(settings, nights()[-1])


@task
def extract_shard(chain: str, job: dict) -> dict:
    """Outside the lease, side by side with the other shards: one shard's bodies, their own watermarks."""
    return _chain(chain).extract_shard(_settings(), nights()[-1], _interval_end(), **job)


@task
def merge_extracts(chain: str, pulled: list[dict]) -> dict:
    found, settings = _chain(chain), _settings()
    with _lock(found, settings):
        return found.merge_extracts(settings, nights()[-1], list(pulled))


@task
def transform_shard(chain: str, job: dict) -> dict:
    """Outside the lease: one shard's acts read and judged into its own part of the partitions."""
    return _chain(chain).transform_shard(_settings(), nights()[-1], **job)


@task
def merge_transforms(chain: str, staged: list[dict]) -> dict:
    """Under the lease: the shards' parts staged and recorded in the ledger as one night."""
    found, settings = _chain(chain), _settings()
    with _lock(found, settings):
        return found.merge_transforms(settings, nights()[-1], list(staged))


@task
def short_run(chain: str) -> dict:
    """A whole short run in one task, under the chain's lease from the pull to the report: what changed
    since the watermarks, published at once. Skipped (not failed) when the lease stays held (the
    night is running): the night, or the next short run, takes the changes. Its partition is named
    after the end of its data interval (the ``date`` param: a partition to redo, e.g. after a failure)."""
    from core.keys import short_run_partition
    from core.lease import LockBusy

    context = get_current_context()
    found, settings = _chain(chain), _settings()
    end = context["data_interval_end"].in_timezone(DAG_TIMEZONE)
    partition = _param("date") or short_run_partition(end)
    owner = f"Airflow {context['dag'].dag_id} {context['run_id']} {context['ti'].task_id}"
    try:
        written = found.run_short(settings, partition, end.strftime("%Y-%m-%d %H:%M:%S"), owner,
                                  bool(_param("force_rebuild")), bool(_param("allow_shrink")))
    except LockBusy as busy:
        log.warning("%s: skipped, %s", partition, busy)
        raise AirflowSkipException(f"the chain's lease is held ({busy}): the next run takes the changes") from None
    for line in written["summary"]:
        log.info(line)
    return written


@task
def announce(written: dict) -> None:
    """The task's Assets are updated (the waiting chains run) only when the run staged what they read:
    a short run with nothing for them skips, so budgets do not run every few minutes for nothing."""
    if not written.get("followers"):
        raise AirflowSkipException("nothing staged that the waiting chains read")
    context = get_current_context()
    for asset in context["task"].outlets:
        context["outlet_events"][asset].extra = {"night": written["night"]}


@task
def plan_years(chain: str, transformed: dict) -> list[dict]:
    return _chain(chain).year_jobs(_settings(), transformed, bool(_param("force_rebuild")))


@task
def decisions(chain: str) -> dict:
    """A run that follows decisions already in the ledger (no night read): the ``years`` params to
    republish, the ``bodies`` whose widget files to refresh (all when empty). Stands for the
    extract and transform summaries of a night."""
    years = sorted({int(year) for year in _param("years") or []})
    label = f"decisions-{get_current_context()['run_id']}"
    return {**_chain(chain).empty_night, "night": label, "years": years, "bodies": list(_param("bodies") or []) or None}


@task
def follow_decisions(chain: str) -> list[str]:
    """The chains that follow this chain's decisions (budgets follow the acts they came with) republish
    what the decided items touch, as ``digor unpublish|publish`` does without ``--via-airflow``.
    The ``acts`` param: ``siren``, ``source_id`` and ``year`` of each item decided on."""
    from chains.chain import republish_decision

    context, settings = get_current_context(), _settings()
    reports = []
    for decided in _param("acts") or []:
        for written in republish_decision(settings, chain, decided, f"decisions-{context['run_id']}",
                                          followers_only=True, dag_id=context["dag"].dag_id,
                                          run_id=context["run_id"]):
            reports.append(written["key"])
            for line in written["summary"]:
                log.info(line)
    return reports


@task
def publish_year(chain: str, job: dict) -> dict:
    found, settings = _chain(chain), _settings()
    with _lock(found, settings):
        return found.publish_year(settings, **job)


@task
def publish_widgets(chain: str, transformed: dict, years: list[dict]) -> list[str]:
    """The switch, under the chain's lease; years rebuilt first are handed on as XCom ``rebuilt``."""
    found, settings = _chain(chain), _settings()
    with _lock(found, settings) as held:
        keys, rebuilt = found.switch(settings, transformed, list(years), bool(_param("force_rebuild")), held)
    get_current_context()["ti"].xcom_push(key="rebuilt", value=rebuilt)
    return keys


@task
def publish_datagouv(chain: str, years: list[dict]) -> list[dict]:
    from chains.chain import merged_years

    found, settings = _chain(chain), _settings()
    with _lock(found, settings):
        return found.publish_datagouv(settings, merged_years(list(years), _rebuilt()), bool(_param("allow_shrink")))


@task
def report(chain: str, extracted: dict, transformed: dict, years: list[dict], widgets: list[str],
           datagouv: list[dict]) -> dict:
    from chains.chain import merged_years

    context, found, settings = get_current_context(), _chain(chain), _settings()
    with _lock(found, settings):
        written = found.write_report(
            settings, transformed["night"], extracted, transformed, merged_years(list(years), _rebuilt()),
            list(widgets), datagouv, context["dag"].dag_id, context["run_id"],
        )
    for line in written["summary"]:
        log.info(line)
    if failures := written.get("widget_failures"):
        from orchestration.alerts import warn

        warn(context, f"{len(failures)} bodies' widgets not switched (their previous widgets stay online): "
                      + "; ".join(f"{f['body']}: {f['error']}" for f in failures[:5])
                      + (f" (and {len(failures) - 5} more, in the run report)" if len(failures) > 5 else ""))
    for asset in context["task"].outlets:  # what waits for this chain learns which nights are ready
        context["outlet_events"][asset].extra = {"night": transformed["night"],
                                                 **({"nights": transformed["nights"]} if "nights" in transformed else {})}
    return written


@task
def plan_texts(chain: str, years: list[dict]) -> list[dict]:
    """After the years' documents are public: the batches of documents whose text to read."""
    return _chain(chain).text_jobs(_settings())


@task
def read_texts(chain: str, job: dict) -> dict:
    """Outside the lease and off the publication's path: text layers and OCR, bounded per document."""
    return _chain(chain).read_texts(_settings(), **job)


@task(trigger_rule="all_done")
def publish_texts(chain: str, batches: list[dict]) -> dict:
    """The texts read (this run's, or left by a run whose reading failed) made public, under the lease."""
    found, settings = _chain(chain), _settings()
    with _lock(found, settings):
        published = found.publish_texts(settings, [b for b in batches or [] if b])
    for line in published["summary"]:
        log.info(line)
    return published
