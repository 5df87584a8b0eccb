"""Per-body files that the static Actes widget reads straight from the public zone.

Each body gets a manifest (``index.json``) naming its year files, a first page file (the most
recent acts and the counts the filters show, so that the widget draws its list without any
year file), for each year its part of the search index (the widget puts the years' parts
together into one index of MiniSearch, the library bundled with it, see ``widgets/package.json``)
and of the text index, and an Atom feed of its latest acts.

A body can have tens of thousands of acts: the year files, the first page and the search
parts are content-addressed versions stored gzip-compressed (served with
``Content-Encoding: gzip``), so a browser downloads each once and a revisit only asks
whether it changed; the widget fetches year files and search parts only when a view needs them.
A night writes the search and text parts of the years it touched only.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from urllib.parse import quote

import msgspec
import pandas as pd

from core.frame_rows import row_dicts
from core.jsonio import compact_json_bytes as json_bytes
from core.jsonio import fragments_json_bytes
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
    read_json,
    read_pointers,
    retire_superseded,
    set_pointer,
    write_aliases,
)
from load.widget_text_index import current_text_entry, publish_text_indexes, published_bounds, text_part_outdated

log = logging.getLogger(__name__)
WIDGET_PREFIX = widget_prefix("actes")
WIDGET_PAGE_KEY = f"{WIDGETS_PREFIX}/actes.html"
SEARCH_STEM = "recherche"
FIRST_PAGE_STEM = "recents"
FEED_FILE = "actes.atom"
FORMAT_VERSION = 2
# Of the private year digests: a digest of another format (format 2 held the years' search and
# text parts, before they became public files of their own) is made again from its year file; one of
# format 3 (without its first page acts' fingerprints) or 4 (without their keys, ``cles``) is completed.
YEAR_PARTS_FORMAT = 5
COMPLETED_PARTS_FORMATS = (3, 4)
# The manifest's ``recherche.format``: 2, one index in MiniSearch's serialisation (written before
# the index was cut by year, still read by the widget); 3, one search part per year.
SEARCH_BY_YEAR = 3
# Of a year's search part (``year_search_file``).
SEARCH_PART_FORMAT = 1
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
_STOP = frozenset(STOP_WORDS)
_NOT_WORD = re.compile(r"[\W_]+")
# The combining diacritical marks (U+0300 to U+036F, all of them marks): what NFD leaves of a Latin
# letter's accents.
_LATIN_MARKS = re.compile("[\u0300-\u036f]+")
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
# Between the texts ``_tokens_each`` tokenizes at once: not a word character, a starter for NFD
# (marks are never reordered across it) and neither cased nor case-ignorable (a final sigma stays one).
_BETWEEN = "\x00"
# Ligatures NFD leaves whole: "vœu" is searched as "voeu".
LIGATURES = {"œ": "oe", "æ": "ae"}
PublicUrl = Callable[[str], str]


def year_key(siren: str, year: int) -> str:
    return f"{WIDGET_PREFIX}/{siren}/{year}.json"


def index_key(siren: str) -> str:
    return f"{WIDGET_PREFIX}/{siren}/index.json"


def search_key(siren: str) -> str:
    """The stable name of the search index before it became a version (removed at the next switch)."""
    return f"{WIDGET_PREFIX}/{siren}/{SEARCH_STEM}.json"


def search_stem(year: str) -> str:
    """The stem of a year's search part; its text index's are ``widget_text_index.text_stems``."""
    return f"{SEARCH_STEM}-{year}"


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
    for act in row_dicts(published):  # one conversion and one pass, not one per body
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
        store.put_bytes(widget_year_digest_key("actes", siren, name), fragments_json_bytes(year_digest(json.loads(data)["actes"])))
    moved = set_pointer(store, folder, str(year), {"fichier": name, "actes": len(entries)})
    return version if moved else None


def year_digest(acts: list[dict]) -> dict:
    """What the body's manifest, first page and feed need of one year file: its first page and
    feed (the body's are among its years'), its counts, and (``_year_parts``) the names of its
    public search and text parts; small, so that a switch reads the years it did not touch cheaply.

    The first page acts are kept as their JSON (``msgspec.Raw``: a switch puts the body's first page
    together without reading them), with what choosing among them needs (``cles``, ``_page_key``) and
    their fingerprints (``empreintes``, the first page's records); the feed acts by their rank among
    them (most are), else as their JSON."""
    page = page_acts(acts)
    rank = {id(act): n for n, act in enumerate(page)}
    return {
        "format": YEAR_PARTS_FORMAT,
        "actes": len(acts),
        "comptes": page_counts(acts),
        "premiere_page": [_fragment(act) for act in page],
        "cles": [_page_key(act) for act in page],
        "empreintes": [fingerprint(act) for act in page],
        "flux": [rank[id(act)] if id(act) in rank else _fragment(act) for act in feed_acts(acts)],
    }


def _fragment(act: dict) -> msgspec.Raw:
    """An act's JSON as a widget file writes it, to be put into one as it is."""
    return msgspec.Raw(json_bytes(act)[:-1])  # without the final newline


def _completed(part: dict) -> dict:
    """A digest of a format before (``COMPLETED_PARTS_FORMATS``, read whole) in this format's terms."""
    page = part["premiere_page"]
    feed = [page[act] if isinstance(act, int) else act for act in part["flux"]]
    rank = {act["id"]: n for n, act in enumerate(page)}

    def kept(act: dict) -> int | msgspec.Raw:
        at = rank.get(act["id"])
        return at if at is not None and page[at] == act else _fragment(act)

    return dict(part, premiere_page=[_fragment(act) for act in page], cles=[_page_key(act) for act in page],
                empreintes=part.get("empreintes") or [fingerprint(act) for act in page], flux=[kept(act) for act in feed])


_STORED_DIGEST = msgspec.json.Decoder(dict[str, msgspec.Raw])
_FRAGMENTS = msgspec.json.Decoder(list[msgspec.Raw])
_KEYS = msgspec.json.Decoder(list[tuple])


# What decoding a widget file cut short or garbled raises (gzip's errors are OSError, EOFError, zlib.error).
_UNREADABLE = (msgspec.DecodeError, EOFError, OSError, zlib.error)


def _read_part(store: ObjectStore, key: str) -> dict | None:
    """A year digest of this format (its first page acts left as JSON; its feed acts that are not
    ranks, too), completed when of a format before (``format`` tells which it was), else None: then
    made again from its year file, also when it cannot be read (cut short, garbled)."""
    try:
        data = store.get_bytes(key)
    except FileNotFoundError:
        return None
    try:
        return _decoded_part(plain_bytes(data))
    except (*_UNREADABLE, KeyError, TypeError, AttributeError) as error:
        log.warning("%s: year digest unreadable (%s), made again from its year file", key, error)
        return None


def _decoded_part(data: bytes) -> dict | None:
    stored = _STORED_DIGEST.decode(data)
    kind = msgspec.json.decode(stored["format"]) if "format" in stored else None
    if kind in COMPLETED_PARTS_FORMATS:
        return _completed(msgspec.json.decode(data))
    if kind != YEAR_PARTS_FORMAT:
        return None
    part = {name: msgspec.json.decode(value) for name, value in stored.items()
            if name not in ("premiere_page", "cles", "flux")}
    part["premiere_page"] = _FRAGMENTS.decode(stored["premiere_page"])
    part["cles"] = _KEYS.decode(stored["cles"])
    part["flux"] = [int(text) if (text := bytes(act)).isdigit() else act for act in _FRAGMENTS.decode(stored["flux"])]
    return part


def year_search_file(acts: list[dict]) -> dict:
    """A year's public part of the search index: ``search_part`` of its acts, with the fields and
    stop words it was made with. The widget numbers each year's acts after the years before it and
    puts the parts together, in year order, into the index MiniSearch would build of all the acts
    (an act in two years counts once, as first met): ``widgets/actes.js``, ``searchIndex``."""
    return {"format": SEARCH_PART_FORMAT, "champs": list(SEARCH_FIELDS), "mots_vides": list(STOP_WORDS),
            **search_part(acts)}


def _publish_year_search(store: ObjectStore, siren: str, year: str, acts: list[dict], digest: dict) -> None:
    """Write the year's public search part as a version, then name it in its digest: a digest names
    only files already written."""
    held = Fingerprints(sorted({fingerprint(act) for act in acts}))
    key, _ = put_version(store, body_folder(siren), search_stem(year), "json",
                         gzip_bytes(json_bytes(year_search_file(acts))), held)
    digest["recherche"] = key.rsplit("/", 1)[1]


def _year_parts(store: ObjectStore, siren: str, pointers: dict[str, dict], indexes: bool) -> list[dict]:
    """Each year's digest, in year order, with (``indexes``) the names of its public search part
    (``recherche``) and text index (``texte``), kept in one private file per year file version: made
    from the year file when the version is new (a year the night touched), the text index again when a
    document it waits for has its text (``widget_text_index.publish_text_indexes``: the years share
    the text index's term ranges, so a range cut again changes other years' text indexes too). The
    digests of year file versions no pointer names any more are deleted, and with them every name of
    a withdrawn act; its public parts go with the versions the switch retires."""
    folder = body_folder(siren)
    digests: dict[str, dict] = {}
    changed: set[str] = set()
    read: dict[str, list[dict]] = {}
    texts: dict[str, dict | None] = {}

    def acts(year: str) -> list[dict]:
        if year not in read:
            key = f"{folder}/{pointers[year]['fichier']}"
            try:
                read[year] = read_widget_json(store, key)["actes"]
            except UnreadableWidgetFile:
                store.delete(key)  # of use to no reader; the year's next rebuild writes the version again
                raise
        return read[year]

    def acts_once(year: str) -> list[dict]:
        """A year's acts for its text index, not kept afterwards."""
        acts(year)
        return read.pop(year)

    for year in sorted(pointers):
        digest = _read_part(store, widget_year_digest_key("actes", siren, pointers[year]["fichier"]))
        if digest is None:
            digest = year_digest(acts(year))
            changed.add(year)
        elif digest["format"] != YEAR_PARTS_FORMAT:  # completed by ``_read_part``
            digest["format"] = YEAR_PARTS_FORMAT
            changed.add(year)
        if indexes:
            if "recherche" not in digest:
                _publish_year_search(store, siren, year, acts(year), digest)
                changed.add(year)
                texts[year] = None
            elif not current_text_entry(digest["texte"]) or text_part_outdated(store, digest["texte"]):
                texts[year] = None
            else:
                texts[year] = digest["texte"]
        if texts.get(year) is not None or not indexes:
            read.pop(year, None)  # its text index is not made again: its acts are not kept
        digests[year] = digest
    if indexes:
        year_files = {year: pointer["fichier"] for year, pointer in pointers.items()}
        made = publish_text_indexes(store, folder, siren, texts, year_files, acts_once, search_tokens, STOP_WORDS,
                                    lambda: published_bounds(store, folder, read_json(store, index_key(siren))))
        for year, entry in made.items():
            digests[year]["texte"] = entry
        changed |= set(made)
    for year in sorted(changed):
        store.put_bytes(widget_year_digest_key("actes", siren, pointers[year]["fichier"]), fragments_json_bytes(digests[year]))
    current = {widget_year_digest_key("actes", siren, pointer["fichier"]) for pointer in pointers.values()}
    current |= {widget_year_terms_key("actes", siren, year) for year in pointers}
    for key in store.list_keys(widget_body_drafts("actes", siren)):
        if key not in current:
            store.delete(key)
    return [digests[year] for year in sorted(pointers)]


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


class UnreadableWidgetFile(ValueError):
    """A widget file that is not what the pipeline wrote (cut short, garbled): the message names it."""


def read_widget_json(store: ObjectStore, key: str):
    """A widget file as the pipeline wrote it, compressed or not (read by msgspec: the same values as
    ``json.loads`` on the JSON digor writes, three times faster; a switch reads each year's digest)."""
    data = store.get_bytes(key)
    try:
        return msgspec.json.decode(plain_bytes(data))
    except _UNREADABLE as error:
        raise UnreadableWidgetFile(f"{key} cannot be read ({error})") from error


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


def _page_key(act: dict) -> tuple[str, str, str, str, str, str]:
    """What choosing the first page and feed acts reads of an act: its moment (publication, then
    decision date), numero and id (``_newest_first``, ``feed_acts``), nature and matière group."""
    return (*_moment(act), act.get("numero") or "", act["id"], str(act.get("nature_code") or ""), _matiere_group(act))


def _page_ranks(keys: list[tuple], per_group: int = FIRST_PAGE_PER_GROUP) -> list[int]:
    """The ranks among some acts (given by their ``_page_key``) of those of the first page, newest first."""
    groups: dict[tuple[str, str], list[int]] = {("tous", ""): list(range(len(keys)))}
    for at, key in enumerate(keys):
        groups.setdefault(("nature", key[4]), []).append(at)
        groups.setdefault(("matiere", key[5]), []).append(at)
    moments = [key[:2] for key in keys]
    held: dict[str, int] = {}
    for members in groups.values():
        ranked = sorted(members, key=moments.__getitem__, reverse=True)
        if len(ranked) > per_group:
            cutoff = moments[ranked[per_group - 1]]
            ranked = [at for at in ranked if moments[at] >= cutoff]
        held.update((keys[at][3], at) for at in ranked)
    return sorted(held.values(), key=lambda at: keys[at][:3], reverse=True)


def page_acts(acts: list[dict], per_group: int = FIRST_PAGE_PER_GROUP) -> list[dict]:
    """The acts of the first page: the newest of the whole list, of each nature and each matière.

    The newest of a set of acts are among the newest of its parts, so the page of a body is the
    page of its years' pages (how ``publish_index`` builds it from the year digests).
    """
    return [acts[at] for at in _page_ranks([_page_key(act) for act in acts], per_group)]


def _first_page_document(siren: str, counts: dict[str, dict[str, int]], page: list, per_group: int) -> dict:
    return {"format": FORMAT_VERSION, "siren": siren, "par_groupe": per_group, "comptes": counts, "actes": page}


def first_page(siren: str, acts: list[dict], per_group: int = FIRST_PAGE_PER_GROUP) -> dict:
    """The most recent acts of the whole list, of each nature and of each matière, and the count
    of acts per nature and matière: what the widget needs to draw its first pages and its filters
    without any year file (``publish_index`` makes it from the year digests).

    A group keeps its ``per_group`` newest acts (by publication, then decision date) and every
    act of the same dates as the last one kept, so the widget's finer order (by numero) picks
    the same acts from this file as from the year files.
    """
    return _first_page_document(siren, page_counts(acts), page_acts(acts, per_group), per_group)


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
    listed = store.list_keys(folder + "/")  # once for both: a body's folder holds tens of versions
    write_aliases(store, folder, {f"{year}.json": entry["fichier"] for year, entry in years.items()}, listed)
    retire_superseded(store, folder, [entry["fichier"] for entry in years.values()] + others, retention_days,
                      listed=listed)
    clear_pending(store, folder)


def _put_named_version(store: ObjectStore, folder: str, stem: str, data: bytes, records: Iterable) -> str:
    """A gzip-compressed version of a file derived from the year files; its name."""
    key, _ = put_version(store, folder, stem, "json", gzip_bytes(data), records)
    return key.rsplit("/", 1)[1]


def _feed_of(digests: list[dict]) -> list[dict]:
    """The body's feed acts (``feed_acts`` of its years'), chosen by their keys: only those are read."""
    keyed = []
    for digest in digests:
        for act in digest["flux"]:
            if isinstance(act, int):
                keyed.append((digest["cles"][act], digest["premiere_page"][act]))
            else:
                plain = msgspec.json.decode(act)
                keyed.append((_page_key(plain), plain))
    dated = [pair for pair in keyed if pair[0][0]]
    dated.sort(key=lambda pair: pair[0][:4], reverse=True)
    return [msgspec.json.decode(act) if isinstance(act, msgspec.Raw) else act for _, act in dated[:FEED_ENTRIES]]


def publish_index(
    store: ObjectStore, body: Body, region_publisher: str, public_url: PublicUrl | None = None,
    retention_days: float = 2.0, identity: dict | None = None,
) -> str:
    """The body's entry point: who it is, its widget settings and the years available.

    Writing it is the switch: it names the year versions that ``publish_year_files``
    pointed to, so a widget reads either the old set of files or the new one. With
    ``public_url`` (how browsers reach a public key) it also names each year's search part and
    text index (made for the years whose file changed) and rewrites the Atom feed. ``identity`` is what the SIRENE register says of
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
    page = [act for digest in digests for act in digest["premiere_page"]]
    marks = [mark for digest in digests for mark in digest["empreintes"]]
    chosen = _page_ranks([key for digest in digests for key in digest["cles"]])
    recents = _first_page_document(body.siren, counts, [page[at] for at in chosen], FIRST_PAGE_PER_GROUP)
    others = [_put_named_version(store, folder, FIRST_PAGE_STEM, fragments_json_bytes(recents),
                                 Fingerprints(sorted({marks[at] for at in chosen})))]
    document["premiere_page"] = {"fichier": others[0]}
    for digest in digests:  # kept even by a switch that does not name them: their digests do
        others += [digest["recherche"], *digest["texte"]["fichiers"]] if "recherche" in digest else []
    if public_url is not None:
        document["recherche"] = {"bibliotheque": "minisearch", "format": SEARCH_BY_YEAR, "annees": {
            year: {"fichier": digest["recherche"]} | ({"texte": digest["texte"]["fichier"]} if digest["texte"]["fichier"] else {})
            for year, digest in zip(sorted(pointers), digests)}}
        feed = atom_feed(body, region_publisher, _feed_of(digests), public_url)
        put_if_changed(store, feed_key(body.siren), feed)
        document["flux"] = {"atom": FEED_FILE}
    put_if_changed(store, key, json_bytes(document))
    _finish_switch(store, body.siren, years, others, retention_days)
    return key


def search_tokens(text: str) -> list[str]:
    """Words of ``text`` as the widget searches them: no accents, lower case, no stop words.

    Mirrors ``tokenize`` in ``widgets/actes.js`` (NFD, drop marks, lower, œ and æ as two
    letters, split on what is neither letter nor digit); a change here must be made there too.
    """
    return [word for word in _NOT_WORD.split(_searched_text(text or "")) if word and word not in _STOP]


def _searched_text(text: str) -> str:
    """``text`` as ``search_tokens`` splits it: NFD without its marks, lower case, ligatures as two letters."""
    bare = unicodedata.normalize("NFD", text)
    if not bare.isascii():  # the accents of Latin letters are marks of one block: taken out in C first
        bare = _LATIN_MARKS.sub("", bare)
        if not bare.isascii():  # other marks, looked for among the few other characters left
            marks = {c for c in set(_NOT_ASCII.findall(bare)) if unicodedata.category(c).startswith("M")}
            if marks:
                bare = re.sub("[" + "".join(sorted(marks)) + "]", "", bare)
    bare = bare.lower()
    for letter, letters in LIGATURES.items():
        bare = bare.replace(letter, letters)
    return bare


def _tokens_each(texts: list[str]) -> list[list[str]]:
    """``search_tokens`` of each text, the texts made plain together (a year's acts: one pass in C)."""
    joined = _BETWEEN.join(texts)
    if joined.count(_BETWEEN) != len(texts) - 1:  # a text holds the character put between them
        return [search_tokens(text) for text in texts]
    return [[word for word in _NOT_WORD.split(part) if word and word not in _STOP]
            for part in _searched_text(joined).split(_BETWEEN)]


def search_part(acts: Iterable[dict]) -> dict:
    """The search postings of some acts (one year file's), by their rank among them: ``ids``
    (each act once, first seen), ``longueurs`` (unique words per field) and ``termes`` (term ->
    field id -> [[rank, occurrences], ...]); the widget puts a body's years' parts together."""
    seen: set[str] = set()
    unique = [act for act in acts if not (act["id"] in seen or seen.add(act["id"]))]  # each id as first seen
    ids = [act["id"] for act in unique]
    lengths: list[list[int]] = []
    postings: dict[str, dict[str, list[list[int]]]] = {}
    fields = [str(field_id) for field_id in range(len(SEARCH_FIELDS))]
    words = iter(_tokens_each([act.get(field) or "" for act in unique for field in SEARCH_FIELDS]))
    for rank in range(len(unique)):
        counted = []
        for field in fields:
            found = Counter(next(words))
            counted.append(len(found))
            for token, occurrences in found.items():
                postings.setdefault(token, {}).setdefault(field, []).append([rank, occurrences])
        lengths.append(counted)
    return {"ids": ids, "longueurs": lengths, "termes": postings}


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


def _plain(text: str) -> bool:
    """Whether ``text`` goes into the feed as it is, text or attribute: no markup character, and
    printable (which excludes every character XML forbids, and the tab and line breaks an attribute
    escapes); most texts are, and this is faster than looking for what is not."""
    return text.isprintable() and "&" not in text and "<" not in text and ">" not in text and '"' not in text


def _markup_escaped(text: str) -> str:
    return _xml_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escaped_text(value) -> str:
    text = str(value)
    return text if _plain(text) else _markup_escaped(text)


def _escaped_attribute(value) -> str:
    text = str(value)
    if _plain(text):
        return text
    return (_markup_escaped(text).replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;")
            .replace("\t", "&#09;"))


def _element(tag: str, text: str | None = None, children: Iterable[str] = (), depth: int = 0, **attributes) -> str:
    """One element as ``ElementTree.tostring`` writes it after ``ElementTree.indent`` (two spaces a
    level, ``<a />`` when empty; ``children``: elements already written one level down), in a
    fraction of its time: a night writes the feed of every body it touched."""
    head = "<" + tag
    for name, value in attributes.items():
        if value is not None:
            head += f' {name}="{_escaped_attribute(value)}"'
    if children:
        indent = "\n" + "  " * (depth + 1)
        return head + ">" + "".join(indent + child for child in children) + "\n" + "  " * depth + f"</{tag}>"
    text = _escaped_text(text) if text is not None else ""
    return f"{head}>{text}</{tag}>" if text else head + " />"


def _leaf(tag: str, text: str) -> str:
    """``_element(tag, text)``, shorter: an entry is mostly such elements."""
    text = _escaped_text(text)
    return f"<{tag}>{text}</{tag}>" if text else f"<{tag} />"


def _feed_entry(act: dict, permalink: str) -> str:
    """One act's ``<entry>``, one level down in the feed."""
    published = _atom_time(act["date_publication"])
    lines = [_leaf("id", permalink), _leaf("title", f"{act['numero']} : {act['objet']}"),
             _leaf("published", published), _leaf("updated", published),
             f'<link rel="alternate" type="text/html" href="{_escaped_attribute(permalink)}" />']
    for document in [d for d in (act.get("document"), *act.get("annexes", [])) if d]:
        kind = mimetypes.guess_type(document["nom"])[0] or "application/octet-stream"
        lines.append(_element("link", rel="enclosure", type=kind, href=document["url"], title=document["nom"]))
    lines.append(_element("category", term=f"nature-{act['nature_code']}", label=act["nature"]))
    if act.get("matiere_code"):
        lines.append(_element("category", term=f"matiere-{act['matiere_code']}", label=act.get("matiere")))
    summary = " · ".join(part for part in (act["nature"], act.get("matiere"), act_dates_text(act)) if part)
    lines.append(_element("summary", summary, type="text"))
    return "<entry>" + "".join("\n    " + line for line in lines) + "\n  </entry>"


def atom_feed(body: Body, region_publisher: str, acts: list[dict], public_url: PublicUrl) -> bytes:
    """Atom 1.0 feed (RFC 4287) of the body's latest published acts, newest first.

    Dates are those of the data, never the time of the run, so a rerun gives the same bytes.
    """
    latest = feed_acts(acts)
    self_url = public_url(feed_key(body.siren))
    head = [
        _element("id", self_url),
        _element("title", f"Actes publiés par {body.name}"),
        _element("subtitle", f"Les derniers actes publiés en open data par {body.name} (SIREN {body.siren}), "
                             f"avec leur date de publication. Source : {region_publisher}."),
        _element("updated", _atom_time(latest[0]["date_publication"]) if latest else "1970-01-01T00:00:00Z"),
        _element("link", rel="self", type="application/atom+xml", href=self_url),
        _element("link", rel="alternate", type="text/html", href=widget_url(public_url, body.siren)),
        _element("author", children=[_element("name", body.name)], depth=1),
        _element("rights", f"{LICENCE} (Etalab)"),
        _element("generator", "digor"),
    ]
    entries = [_feed_entry(act, widget_url(public_url, body.siren, act)) for act in latest]
    feed = _element("feed", children=head + entries, xmlns="http://www.w3.org/2005/Atom", **{"xml:lang": "fr"})
    return ("<?xml version='1.0' encoding='utf-8'?>\n" + feed + "\n").encode("utf-8")
