"""Per-body files that the static Actes widget reads straight from the public zone.

Each body gets a manifest (``index.json``) naming its year files, a first page file (the most
recent acts and the counts the filters show, so that the widget draws its list without any
year file), a search index in the serialised format of MiniSearch (the library bundled with
the widget, see ``widgets/package.json``) and an Atom feed of its latest acts.

A body can have tens of thousands of acts: the year files, the first page and the search
index are content-addressed versions stored gzip-compressed (served with
``Content-Encoding: gzip``), so a browser downloads each once and a revisit only asks
whether it changed; the widget fetches year files and the index only when a view needs them.
"""

from __future__ import annotations

import json
import mimetypes
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date
from urllib.parse import quote

import pandas as pd

from core.jsonio import compact_json_bytes as json_bytes
from core.keys import (
    WIDGETS_PREFIX,
    widget_body_drafts,
    widget_prefix,
    widget_year_digest_key,
    widget_year_terms_key,
)
from core.nomenclature_actes import ALL_NATURES, parse_classification
from core.publication_rule import UrlOf, annex_urls, document_url
from core.registry import Body, Registry
from core.store import ObjectStore, gzip_bytes, plain_bytes, put_if_changed
from load.versions import (
    Fingerprints,
    clear_pending,
    fingerprint,
    pending_folders,
    put_version,
    read_pointers,
    retire_superseded,
    set_pointer,
    write_aliases,
)
from load.widget_text_index import publish_text_index, text_part_outdated, year_text_part

WIDGET_PREFIX = widget_prefix("actes")
WIDGET_PAGE_KEY = f"{WIDGETS_PREFIX}/actes.html"
SEARCH_STEM = "recherche"
FIRST_PAGE_STEM = "recents"
FEED_FILE = "actes.atom"
FORMAT_VERSION = 2
# Of the private year parts (digest, search part, text part): a part of another format is made again.
YEAR_PARTS_FORMAT = 2
# The first page file holds, for the whole list and for each nature and each matière, at least
# this many of the most recent acts: enough for the first pages of the list and of a page
# configured for some kinds of acts (``widgets/actes.js`` reads the number from the file).
FIRST_PAGE_PER_GROUP = 20
FEED_ENTRIES = 50
LICENCE = "Licence Ouverte / Open Licence version 2.0"

# What the widget's search reads: the fields, their order (MiniSearch field ids) and the
# words too common to tell acts apart. The widget takes all of it from the index file,
# so the tokenizer below is the only one to keep in step with ``widgets/actes.js``.
SEARCH_FIELDS = ("numero", "objet", "matiere")
STOP_WORDS = (
    "a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "pour", "sur", "un", "une",
)
MINISEARCH_SERIALIZATION = 2
_NOT_WORD = re.compile(r"[\W_]+")
# Ligatures NFD leaves whole: "vœu" is searched as "voeu".
LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})
PublicUrl = Callable[[str], str]


def year_key(siren: str, year: int) -> str:
    return f"{WIDGET_PREFIX}/{siren}/{year}.json"


def index_key(siren: str) -> str:
    return f"{WIDGET_PREFIX}/{siren}/index.json"


def search_key(siren: str) -> str:
    """The stable name of the search index before it became a version (removed at the next switch)."""
    return f"{WIDGET_PREFIX}/{siren}/{SEARCH_STEM}.json"


def feed_key(siren: str) -> str:
    return f"{WIDGET_PREFIX}/{siren}/{FEED_FILE}"


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
        "nature": ALL_NATURES[act["nature_code"]],
        "matiere_code": matiere.code,
        "matiere": f"{matiere.label_1} / {matiere.label_2}",
        "date_decision": _iso(act["date_decision"]),
        "date_transmission": _iso(act["date_transmission"]),
        "date_ar": _iso(act["pref_date"]),
        "date_publication": _iso(act["publication_date"]),
        "document": None if act["metadata_only"] else {"nom": act["main_file_name"], "url": document_url(act, url_of)},
        "annexes": annexes,
    }


def publish_year_files(
    store: ObjectStore, registry: Registry, year: int, published: pd.DataFrame, bodies: set[str], url_of: UrlOf
) -> list[str]:
    """Rewrite the year file of every body in ``bodies``; a body left with nothing loses it."""
    written = []
    by_body: dict[str, list[dict]] = {}
    for act in published.to_dict("records"):  # one conversion and one pass, not one per body
        by_body.setdefault(act["siren"], []).append(act)
    for siren in sorted(bodies):
        body = registry.by_siren(siren)
        acts = by_body.get(siren, [])
        if body is None or not body.open_data or not acts:
            write_year_entries(store, siren, year, None)
            continue
        version = write_year_entries(store, siren, year, [_act_entry(act, url_of) for act in acts])
        written += [version] if version else []
    return written


def _newest_first(entry: dict) -> tuple:
    return (entry.get("date_publication") or "", entry.get("date_decision") or "", entry.get("numero") or "")


def write_year_entries(store: ObjectStore, siren: str, year: int, entries: list[dict] | None) -> str | None:
    """A body's year file from its widget entries (None: the year has no act any more), as a new
    gzip-compressed version that ``publish_index`` switches to; returns the version when it moved."""
    folder = body_folder(siren)
    if not entries:
        set_pointer(store, folder, str(year), None)
        return None
    entries = sorted(entries, key=_newest_first, reverse=True)
    document = {"format": FORMAT_VERSION, "siren": siren, "annee": year, "actes": entries}
    data = json_bytes(document)
    version, _ = put_version(store, folder, str(year), "json", gzip_bytes(data), entries)
    name = version.rsplit("/", 1)[1]
    if not store.exists(widget_year_digest_key("actes", siren, name)):
        # the entries as the file gives them back
        store.put_bytes(widget_year_digest_key("actes", siren, name), json_bytes(year_digest(json.loads(data)["actes"])))
    moved = set_pointer(store, folder, str(year), {"fichier": name, "actes": len(entries)})
    return version if moved else None


def year_digest(acts: list[dict]) -> dict:
    """What the body's manifest, first page and feed need of one year file: its first page and
    feed (the body's are among its years'), its counts and the fingerprints of its acts (what the
    derived files hold)."""
    return {
        "format": YEAR_PARTS_FORMAT,
        "actes": len(acts),
        "comptes": page_counts(acts),
        "premiere_page": page_acts(acts),
        "flux": feed_acts(acts),
        "empreintes": sorted({fingerprint(act) for act in acts}),
    }


def _read_part(store: ObjectStore, key: str) -> dict | None:
    try:
        part = json.loads(plain_bytes(store.get_bytes(key)))
    except FileNotFoundError:
        return None
    return part if part.get("format") == YEAR_PARTS_FORMAT else None


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def year_search_part(acts: list[dict], first: int) -> dict:
    """One year file's part of the search index, serialised as the index holds it, its acts
    numbered from ``first`` (the acts of the years before it): ``ids`` and ``longueurs`` as
    ``search_part`` gives them, and the JSON text of its document ids, field lengths and each
    term's postings per field (a search term is letters and digits: its JSON is itself in quotes)."""
    part = search_part(acts)
    return {
        "debut": first, "ids": part["ids"], "longueurs": part["longueurs"],
        "documentIds": ",".join(f'"{first + n}":{_json_text(act_id)}' for n, act_id in enumerate(part["ids"])),
        "fieldLength": ",".join(f'"{first + n}":{_json_text(lengths)}' for n, lengths in enumerate(part["longueurs"])),
        "termes": {term: {field: ",".join(f'"{first + rank}":{count}' for rank, count in docs)
                          for field, docs in fields.items()}
                   for term, fields in part["termes"].items()},
    }


def _year_parts(store: ObjectStore, siren: str, pointers: dict[str, dict], indexes: bool) -> list[dict]:
    """Each year's digest, in year order, with (``indexes``) its ``recherche`` (search part) and
    ``texte`` (text part), kept together in one private file per year file version: the digest since
    the version was written, the search part while the years before keep their count of acts, the
    text part while no document it waits for has its text; one missing or outdated is made from the
    year file. The parts of year file versions no pointer names any more are deleted, and with them
    every word, name and fingerprint of a withdrawn act."""
    folder, years, first = body_folder(siren), [], 0
    for year in sorted(pointers):
        version = pointers[year]["fichier"]
        key = widget_year_digest_key("actes", siren, version)
        read: list[list[dict]] = []

        def acts() -> list[dict]:
            if not read:
                read.append(read_widget_json(store, f"{folder}/{version}")["actes"])
            return read[0]

        digest = _read_part(store, key)
        changed = digest is None
        if changed:
            digest = year_digest(acts())
        if indexes:
            if digest.get("recherche", {}).get("debut") != first:
                digest["recherche"] = year_search_part(acts(), first)
                changed = True
            if "texte" not in digest or text_part_outdated(store, digest["texte"]):
                digest["texte"] = year_text_part(store, siren, year, acts(), digest["recherche"]["ids"], search_tokens)
                changed = True
            first += len(digest["recherche"]["ids"])
        if changed:
            store.put_bytes(key, json_bytes(digest))
        years.append(digest)
    current = {widget_year_digest_key("actes", siren, pointer["fichier"]) for pointer in pointers.values()}
    current |= {widget_year_terms_key("actes", siren, year) for year in pointers}
    for key in store.list_keys(widget_body_drafts("actes", siren)):
        if key not in current:
            store.delete(key)
    return years


def make_year_parts(store: ObjectStore) -> int:
    """Make the year parts every body's next switch would otherwise make from its year files (a
    store kept by a version of digor without them); returns the bodies given parts."""
    bodies = {key[len(WIDGET_PREFIX) + 1:].split("/", 1)[0] for key in store.list_keys(WIDGET_PREFIX + "/")}
    made = 0
    for siren in sorted(siren for siren in bodies if siren.isdigit()):
        pointers = read_pointers(store, body_folder(siren))
        if pointers:
            _year_parts(store, siren, pointers, indexes=True)
            made += 1
    return made


def read_widget_json(store: ObjectStore, key: str):
    """A widget file as the pipeline wrote it, compressed or not."""
    return json.loads(plain_bytes(store.get_bytes(key)))


def _matiere_group(act: dict) -> str:
    return str(act.get("matiere_code") or "").split(".")[0]


def _moment(act: dict) -> tuple[str, str]:
    return act.get("date_publication") or "", act.get("date_decision") or ""


def page_counts(acts: Iterable[dict]) -> dict[str, dict[str, int]]:
    """The count of acts per nature and matière (what the widget's filters show)."""
    counts: dict[str, dict[str, int]] = {}
    for act in acts:
        nature, matiere = str(act.get("nature_code") or ""), _matiere_group(act)
        counts.setdefault(nature, {}).setdefault(matiere, 0)
        counts[nature][matiere] += 1
    return counts


def _add_counts(total: dict[str, dict[str, int]], counts: dict[str, dict[str, int]]) -> None:
    for nature, by_matiere in counts.items():
        for matiere, count in by_matiere.items():
            total.setdefault(nature, {}).setdefault(matiere, 0)
            total[nature][matiere] += count


def page_acts(acts: list[dict], per_group: int = FIRST_PAGE_PER_GROUP) -> list[dict]:
    """The acts of the first page: the newest of the whole list, of each nature and each matière.

    The newest of a set of acts are among the newest of its parts, so the page of a body is the
    page of its years' pages (how ``publish_index`` builds it from the year digests).
    """
    groups: dict[tuple[str, str], list[dict]] = {("tous", ""): list(acts)}
    for act in acts:
        groups.setdefault(("nature", str(act.get("nature_code") or "")), []).append(act)
        groups.setdefault(("matiere", _matiere_group(act)), []).append(act)
    held: dict[str, dict] = {}
    for members in groups.values():
        ranked = sorted(members, key=_moment, reverse=True)
        if len(ranked) > per_group:
            cutoff = _moment(ranked[per_group - 1])
            ranked = [act for act in ranked if _moment(act) >= cutoff]
        held.update((act["id"], act) for act in ranked)
    return sorted(held.values(), key=_newest_first, reverse=True)


def first_page(siren: str, acts: list[dict], per_group: int = FIRST_PAGE_PER_GROUP,
               counts: dict[str, dict[str, int]] | None = None) -> dict:
    """The most recent acts of the whole list, of each nature and of each matière, and the count
    of acts per nature and matière (``counts``, when ``acts`` are only the candidates): what the
    widget needs to draw its first pages and its filters without any year file.

    A group keeps its ``per_group`` newest acts (by publication, then decision date) and every
    act of the same dates as the last one kept, so the widget's finer order (by numero) picks
    the same acts from this file as from the year files.
    """
    return {
        "format": FORMAT_VERSION, "siren": siren, "par_groupe": per_group,
        "comptes": page_counts(acts) if counts is None else counts, "actes": page_acts(acts, per_group),
    }


def body_folder(siren: str) -> str:
    return f"{WIDGET_PREFIX}/{siren}"


def pending_bodies(store: ObjectStore) -> set[str]:
    """Bodies whose year files changed since their index.json was last switched."""
    return {folder.rsplit("/", 1)[1] for folder in pending_folders(store, WIDGET_PREFIX)}


def _finish_switch(store: ObjectStore, siren: str, years: dict, others: list[str], retention_days: float) -> None:
    """After index.json: the stable ``<year>.json`` copies, then superseded versions retired
    (at once those that show an act no year file shows any more). ``others`` are the versions
    besides the year files that the manifest names (first page, search index)."""
    folder = body_folder(siren)
    write_aliases(store, folder, {f"{year}.json": entry["fichier"] for year, entry in years.items()})
    retire_superseded(store, folder, [entry["fichier"] for entry in years.values()] + others, retention_days)
    clear_pending(store, folder)


def _put_named_version(store: ObjectStore, folder: str, stem: str, document: dict, acts: list[dict]) -> str:
    """A gzip-compressed version of a file derived from the year files; its name."""
    key, _ = put_version(store, folder, stem, "json", gzip_bytes(json_bytes(document)), acts)
    return key.rsplit("/", 1)[1]


def publish_index(
    store: ObjectStore, body: Body, region_publisher: str, public_url: PublicUrl | None = None,
    retention_days: float = 2.0, identity: dict | None = None,
) -> str:
    """The body's entry point: who it is, its widget settings and the years available.

    Writing it is the switch: it names the year versions that ``publish_year_files``
    pointed to, so a widget reads either the old set of files or the new one. With
    ``public_url`` (how browsers reach a public key) it also rebuilds the body's search
    index and Atom feed from its year files. ``identity`` is what the SIRENE register says of
    the body (address, commune, legal category), for the widget's header.
    """
    folder = body_folder(body.siren)
    pointers = read_pointers(store, folder)
    digests = _year_parts(store, body.siren, pointers, indexes=public_url is not None)
    years = {year: {"actes": digest["actes"], "fichier": pointers[year]["fichier"]}
             for year, digest in zip(sorted(pointers), digests)}
    document = {
        "format": FORMAT_VERSION,
        "siren": body.siren,
        "siret": body.siret,
        "nom": body.name,
        "type": body.kind,
        "publie_par": region_publisher,
        "widget": body.widget,
        "annees": dict(sorted(years.items(), reverse=True)),
    }
    if identity:
        document["identite"] = identity
    key = index_key(body.siren)
    store.delete(search_key(body.siren))  # the index's stable name of format 1
    if not years:
        for stale in (key, feed_key(body.siren)):
            store.delete(stale)
        _finish_switch(store, body.siren, years, [], retention_days)
        return key
    counts: dict[str, dict[str, int]] = {}
    for digest in digests:
        _add_counts(counts, digest["comptes"])
    recents = first_page(body.siren, [act for digest in digests for act in digest["premiere_page"]], counts=counts)
    others = [_put_named_version(store, folder, FIRST_PAGE_STEM, recents, recents["actes"])]
    document["premiere_page"] = {"fichier": others[0]}
    if public_url is not None:
        held = set().union(*(digest["empreintes"] for digest in digests))
        search_version, _ = put_version(store, folder, SEARCH_STEM, "json",
                                        gzip_bytes(_search_index_bytes(store, folder, pointers, digests)),
                                        Fingerprints(sorted(held)))
        others.append(search_version.rsplit("/", 1)[1])
        document["recherche"] = {"fichier": others[-1], "bibliotheque": "minisearch", "format": MINISEARCH_SERIALIZATION}
        text, names = publish_text_index(store, folder, [(digest["recherche"]["ids"], digest["texte"]) for digest in digests],
                                         STOP_WORDS)
        if text:
            document["recherche"]["texte"] = text
            others += names
        feed = atom_feed(body, region_publisher, [act for digest in digests for act in digest["flux"]], public_url)
        put_if_changed(store, feed_key(body.siren), feed)
        document["flux"] = {"atom": FEED_FILE}
    put_if_changed(store, key, json_bytes(document))
    _finish_switch(store, body.siren, years, others, retention_days)
    return key


def _search_index_bytes(store: ObjectStore, folder: str, pointers: dict[str, dict], digests: list[dict]) -> bytes:
    """The body's search index (``search_index`` of its years, as compact JSON) put together from
    its years' serialised parts: only the running mean of the field lengths is computed again."""
    searches = [digest["recherche"] for digest in digests]
    count = sum(len(search["ids"]) for search in searches)
    if len({act_id for search in searches for act_id in search["ids"]}) != count:
        # An act in two year files (moved, the old year not rewritten yet) counts once, as first met.
        acts = [read_widget_json(store, f"{folder}/{pointers[year]['fichier']}")["actes"] for year in sorted(pointers)]
        return json_bytes(search_index(parts=[search_part(year) for year in acts]))
    average, short = [0.0] * len(SEARCH_FIELDS), 0
    for search in searches:
        for lengths in search["longueurs"]:
            for field_id, length in enumerate(lengths):
                # The running mean exactly as MiniSearch keeps it (see ``search_index``).
                average[field_id] = (average[field_id] * short + length) / (short + 1)
            short += 1
    terms: dict[str, list[dict[str, str]]] = {}
    for search in searches:
        for term, fields in search["termes"].items():
            terms.setdefault(term, []).append(fields)
    entries = []
    for term in sorted(terms):
        fields = terms[term]
        if len(fields) > 1:
            merged: dict[str, list[str]] = {}
            for by_field in fields:
                for field, postings in by_field.items():
                    merged.setdefault(field, []).append(postings)
            joined = {field: ",".join(postings) for field, postings in merged.items()}
        else:
            joined = fields[0]
        entries.append(f'["{term}",{{' + ",".join(f'"{field}":{{{joined[field]}}}' for field in sorted(joined)) + "}]")
    return "".join([
        '{"averageFieldLength":', _json_text(average),
        ',"digor":', _json_text({"champs": list(SEARCH_FIELDS), "mots_vides": list(STOP_WORDS)}),
        ',"dirtCount":0,"documentCount":', str(count),
        ',"documentIds":{', ",".join(search["documentIds"] for search in searches if search["documentIds"]),
        '},"fieldIds":', _json_text({field: field_id for field_id, field in enumerate(SEARCH_FIELDS)}),
        ',"fieldLength":{', ",".join(search["fieldLength"] for search in searches if search["fieldLength"]),
        '},"index":[', ",".join(entries),
        '],"nextId":', str(count), f',"serializationVersion":{MINISEARCH_SERIALIZATION},"storedFields":{{}}}}\n',
    ]).encode("utf-8")


def search_tokens(text: str) -> list[str]:
    """Words of ``text`` as the widget searches them: no accents, lower case, no stop words.

    Mirrors ``tokenize`` in ``widgets/actes.js`` (NFD, drop marks, lower, œ and æ as two
    letters, split on what is neither letter nor digit); a change here must be made there too.
    """
    bare = "".join(c for c in unicodedata.normalize("NFD", text or "") if not unicodedata.category(c).startswith("M"))
    return [word for word in _NOT_WORD.split(bare.lower().translate(LIGATURES)) if word and word not in STOP_WORDS]


def search_part(acts: Iterable[dict]) -> dict:
    """The search postings of some acts (one year file's), by their rank among them: ``ids``
    (each act once, first seen), ``longueurs`` (unique words per field) and ``termes`` (term ->
    field id -> [[rank, occurrences], ...]); ``search_index`` puts a body's years' parts together."""
    ids: list[str] = []
    lengths: list[list[int]] = []
    postings: dict[str, dict[str, dict[int, int]]] = {}
    seen: set[str] = set()
    for act in acts:
        if act["id"] in seen:
            continue
        seen.add(act["id"])
        rank = len(ids)
        ids.append(act["id"])
        counted = []
        for field_id, field in enumerate(SEARCH_FIELDS):
            tokens = search_tokens(act.get(field) or "")
            counted.append(len(set(tokens)))
            for token in tokens:
                per_doc = postings.setdefault(token, {}).setdefault(str(field_id), {})
                per_doc[rank] = per_doc.get(rank, 0) + 1
        lengths.append(counted)
    return {"ids": ids, "longueurs": lengths,
            "termes": {term: {field: [[rank, n] for rank, n in docs.items()] for field, docs in fields.items()}
                       for term, fields in postings.items()}}


def search_index(acts: Iterable[dict] | None = None, parts: Iterable[dict] | None = None) -> dict:
    """A MiniSearch index (``MiniSearch.loadJSON`` format 2) over numero, objet and matière, of
    ``acts`` or of the ``search_part`` of each year (an act in two years counts once, as first met).

    Built here once per night rather than in every citizen's browser, so that a body with
    tens of thousands of acts is searchable as soon as its page opens.
    """
    document_ids: dict[str, str] = {}
    field_length: dict[str, list[int]] = {}
    average = [0.0] * len(SEARCH_FIELDS)
    postings: dict[str, dict[str, dict[str, int]]] = {}
    seen: set[str] = set()
    for part in [search_part(acts)] if parts is None else parts:
        short_of: dict[int, str] = {}
        for rank, (act_id, lengths) in enumerate(zip(part["ids"], part["longueurs"])):
            if act_id in seen:
                continue
            seen.add(act_id)
            short = len(document_ids)
            short_of[rank] = str(short)
            document_ids[str(short)] = act_id
            for field_id, length in enumerate(lengths):
                # The running mean exactly as MiniSearch keeps it, so scores match a browser-built index.
                average[field_id] = (average[field_id] * short + length) / (short + 1)
            field_length[str(short)] = lengths
        for term, fields in part["termes"].items():
            for field, docs in fields.items():
                kept = [(short_of[rank], n) for rank, n in docs if rank in short_of]
                if kept:
                    postings.setdefault(term, {}).setdefault(field, {}).update(kept)
    return {
        "documentCount": len(document_ids),
        "nextId": len(document_ids),
        "documentIds": document_ids,
        "fieldIds": {field: field_id for field_id, field in enumerate(SEARCH_FIELDS)},
        "fieldLength": field_length,
        "averageFieldLength": average,
        "storedFields": {},
        "dirtCount": 0,
        "index": [[term, postings[term]] for term in sorted(postings)],
        "serializationVersion": MINISEARCH_SERIALIZATION,
        "digor": {"champs": list(SEARCH_FIELDS), "mots_vides": list(STOP_WORDS)},
    }


MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")


def french_date(iso: str | None) -> str:
    """``2025-03-01`` as "1er mars 2025", as the widget writes it."""
    if not iso:
        return ""
    day = date.fromisoformat(iso[:10])
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def act_dates_text(act: dict) -> str:
    published = f"publié le {french_date(act.get('date_publication'))}" if act.get("date_publication") else ""
    if act.get("date_decision"):
        return f"Décision du {french_date(act['date_decision'])}" + (f", {published}" if published else "")
    return published[:1].upper() + published[1:]


def widget_url(public_url: PublicUrl, siren: str, act: dict | None = None) -> str:
    """The widget's page, or an act's permalink: its id and the year of its file (its decision's),
    so that the page loads that year file only."""
    url = f"{public_url(WIDGET_PAGE_KEY)}?siren={siren}"
    if act is None:
        return url
    year = (act.get("date_decision") or "")[:4]
    return url + f"&acte={quote(act['id'], safe='')}" + (f"&annee={year}" if year.isdigit() else "")


_NOT_XML = re.compile(r"[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Text without the control characters XML 1.0 forbids (a stray one would void the feed)."""
    return _NOT_XML.sub("", str(text))


def _atom_time(iso: str) -> str:
    return f"{iso[:10]}T00:00:00Z"


def feed_acts(acts: Iterable[dict]) -> list[dict]:
    """The feed's entries: the latest published acts, newest first (the latest of a body are
    among the latest of its years)."""
    dated = [a for a in acts if a.get("date_publication")]
    dated.sort(key=lambda a: (a["date_publication"], a.get("date_decision") or "", a["numero"], a["id"]), reverse=True)
    return dated[:FEED_ENTRIES]


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(text: str) -> str:
    return (_escape_text(text).replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;")
            .replace("\t", "&#09;"))


def _xml_node(tag: str, text: str | None = None, **attributes) -> list:
    """An element to serialise: tag, attributes, text (without the characters XML forbids), children."""
    return [tag, {k: _xml_text(v) for k, v in attributes.items() if v is not None},
            None if text is None else _xml_text(text), []]


def _write_xml(node: list, depth: int, out: list[str]) -> None:
    """What ``ElementTree.tostring`` writes of an element after ``ElementTree.indent`` (two spaces a
    level, ``<a />`` when empty), in a fraction of its time: a night writes the feed of every body it touched."""
    tag, attributes, text, children = node
    out.append("<" + tag + "".join(f' {k}="{_escape_attribute(v)}"' for k, v in attributes.items()))
    if children:
        out.append(">")
        indent = "\n" + "  " * (depth + 1)
        for child in children:
            out.append(indent)
            _write_xml(child, depth + 1, out)
        out.append("\n" + "  " * depth + f"</{tag}>")
    elif text:
        out.append(f">{_escape_text(text)}</{tag}>")
    else:
        out.append(" />")


def atom_feed(body: Body, region_publisher: str, acts: list[dict], public_url: PublicUrl) -> bytes:
    """Atom 1.0 feed (RFC 4287) of the body's latest published acts, newest first.

    Dates are those of the data, never the time of the run, so a rerun gives the same bytes.
    """
    def sub(parent, tag, text=None, **attributes):
        element = _xml_node(tag, text, **attributes)
        parent[3].append(element)
        return element

    latest = feed_acts(acts)
    feed = _xml_node("feed", xmlns="http://www.w3.org/2005/Atom", **{"xml:lang": "fr"})
    self_url = public_url(feed_key(body.siren))
    sub(feed, "id", self_url)
    sub(feed, "title", f"Actes publiés par {body.name}")
    sub(feed, "subtitle", f"Les derniers actes publiés en open data par {body.name} (SIREN {body.siren}), "
                          f"avec leur date de publication. Source : {region_publisher}.")
    sub(feed, "updated", _atom_time(latest[0]["date_publication"]) if latest else "1970-01-01T00:00:00Z")
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=widget_url(public_url, body.siren))
    author = sub(feed, "author")
    sub(author, "name", body.name)
    sub(feed, "rights", f"{LICENCE} (Etalab)")
    sub(feed, "generator", "digor")
    for act in latest:
        entry = sub(feed, "entry")
        permalink = widget_url(public_url, body.siren, act)
        sub(entry, "id", permalink)
        sub(entry, "title", f"{act['numero']} : {act['objet']}")
        sub(entry, "published", _atom_time(act["date_publication"]))
        sub(entry, "updated", _atom_time(act["date_publication"]))
        sub(entry, "link", rel="alternate", type="text/html", href=permalink)
        for document in [d for d in (act.get("document"), *act.get("annexes", [])) if d]:
            kind = mimetypes.guess_type(document["nom"])[0] or "application/octet-stream"
            sub(entry, "link", rel="enclosure", type=kind, href=document["url"], title=document["nom"])
        sub(entry, "category", term=f"nature-{act['nature_code']}", label=act["nature"])
        if act.get("matiere_code"):
            sub(entry, "category", term=f"matiere-{act['matiere_code']}", label=act.get("matiere"))
        summary = " · ".join(part for part in (act["nature"], act.get("matiere"), act_dates_text(act)) if part)
        sub(entry, "summary", summary, type="text")
    out = ["<?xml version='1.0' encoding='utf-8'?>\n"]
    _write_xml(feed, 0, out)
    return "".join(out).encode("utf-8") + b"\n"
