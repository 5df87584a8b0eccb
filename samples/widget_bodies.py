"""A generated body with tens of thousands of acts, published through the real widget writers.

The demo region has a few dozen acts per body; the widgets must stay light for a town with
20,000. This body (not in any registry) is written in the year-file contract by
``load.widget_files.write_year_entries`` and completed by ``publish_index`` (manifest, first
page, search index, feed): what the browser tests and ``benchmarks/actes_widget.py`` load.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from core.registry import Body
from core.store import ObjectStore
from load.widget_files import publish_index, write_year_entries

BIG_SIREN = "213500010"
BIG_ACTS = 20_000
BIG_BODY = Body(siren=BIG_SIREN, siret=BIG_SIREN + "00015", name="Ville de Grand-Digor", kind="commune",
                widget={"theme": "default"})
XSS_OBJETS = ("Motion de soutien <script>alert(1)</script> aux agriculteurs du territoire",
              "Convention <img src=x onerror=alert(1)> de mise à disposition de la salle des fêtes")
TEMPLATES = (
    ("1", "8.3", "Domaines de compétences par thèmes / Voirie", "Travaux de voirie {place} : programme {year} n°{n}"),
    ("1", "7.1", "Finances locales / Décisions budgétaires", "Décision modificative n°{n} du budget {year}"),
    ("1", "2.1", "Urbanisme / Documents d'urbanisme", "Modification du plan local d'urbanisme secteur {place} n°{n}"),
    ("2", "6.1", "Libertés publiques et pouvoirs de police / Police municipale", "Arrêté de police du maire {place} n°{n}"),
    ("3", "4.1", "Fonction publique / Personnels titulaires et stagiaires de la F.P.T.", "Nomination d'un agent n°{n}"),
    ("4", "1.1", "Commande publique / Marchés publics", "Marché de restauration scolaire lot {n} ({year})"),
    ("5", "7.1", "Finances locales / Décisions budgétaires", "Budget primitif {year} annexe {n}"),
    ("6", "9.1", "Autres domaines de compétences / Autres domaines de compétences des communes", "Décision {n} : adhésion"),
    ("71", "5.2", "Institutions et vie politique / Fonctionnement des assemblées", "Liste des délibérations de la séance n°{n}"),
    ("72", "6.1", "Libertés publiques et pouvoirs de police / Police municipale", "Arrêté temporaire de circulation {place} n°{n}"),
    ("73", "5.2", "Institutions et vie politique / Fonctionnement des assemblées", "Procès-verbal du conseil n°{n}"),
    ("74", "6.1", "Libertés publiques et pouvoirs de police / Police municipale", "Arrêté permanent de stationnement {place} n°{n}"),
)
NATURES = {"1": "Délibérations", "2": "Actes réglementaires", "3": "Actes individuels",
           "4": "Contrats, conventions et avenants", "5": "Documents budgétaires et financiers", "6": "Autres",
           "71": "Listes des délibérations", "72": "Arrêtés temporaires", "73": "Procès-verbaux de séance",
           "74": "Arrêtés permanents"}
PLACES = ("rue de Brest", "Kerdigor", "Lanvézec", "quai des Pêcheurs", "Pen ar Hoat", "place de l'Église")
# A few délibérations as real registers write them: ligatures a citizen types as two letters.
LIGATURE_OBJETS = {36: "Vœu du conseil municipal pour le maintien du bureau de poste",
                   48: "Avenant n°2 au marché de maîtrise d'œuvre de la médiathèque",
                   60: "Ex æquo : attribution des prix du concours des maisons fleuries"}


def big_body_acts(base: str, count: int = BIG_ACTS, seed: int = 35) -> dict[int, list[dict]]:
    """``count`` acts of one body over 2016-2025, by year of decision, as widget entries;
    ``base`` is how browsers reach the public zone (document links)."""
    rng = random.Random(seed)
    years: dict[int, list[dict]] = {}
    counters: dict[tuple, int] = {}
    for n in range(count):
        nature, matiere_code, matiere, template = TEMPLATES[n % len(TEMPLATES)]
        decided = date(2016, 1, 4) + timedelta(days=rng.randrange(0, 3640))
        published = decided + timedelta(days=rng.randint(1, 20))
        counters[(decided.year, nature)] = counters.get((decided.year, nature), 0) + 1
        numero = f"{nature.rjust(2, '0')}_{decided.year}_{counters[(decided.year, nature)]:04d}"
        objet = LIGATURE_OBJETS.get(n) or template.format(place=rng.choice(PLACES), year=decided.year, n=n)
        if n in (17, 18):
            objet = XSS_OBJETS[n - 17]
        sha = f"{n:064x}"
        name = f"{numero}.pdf" if n != 18 else "<img src=x onerror=alert(2)>.pdf"
        years.setdefault(decided.year, []).append({
            "id": f"big{n:05d}", "numero": numero, "objet": objet, "nature_code": nature, "nature": NATURES[nature],
            "matiere_code": matiere_code, "matiere": matiere, "date_decision": decided.isoformat(),
            "date_transmission": published.isoformat(), "date_ar": published.isoformat(),
            "date_publication": published.isoformat(),
            "document": {"nom": name, "url": f"{base}/documents/{sha[:2]}/{sha}.pdf"},
            "annexes": [{"nom": f"Annexe {numero}.pdf", "url": f"{base}/documents/{sha[:2]}/{sha}-a.pdf"}] if n % 7 == 0 else [],
        })
    return years


# The text of the big body's documents: words of a generated vocabulary drawn with Zipf's law (a few
# words in every act, most in a few), so that the text index has the shape of a real one.
TEXT_VOCABULARY = 30_000
TEXT_WORDS_PER_DOCUMENT = 450
_SYLLABLES = ("ar", "be", "co", "di", "en", "fa", "ga", "ker", "lo", "ma", "ne", "or", "pla", "qui", "ro", "sa",
              "tre", "u", "va", "zi", "mon", "ville", "ment", "tion")


def text_word(rank: int) -> str:
    """The vocabulary's word of this rank (0: the most frequent): three or more syllables."""
    word, n = "", rank + len(_SYLLABLES) ** 2
    while n:
        n, syllable = divmod(n, len(_SYLLABLES))
        word += _SYLLABLES[syllable]
    return word


def write_big_body_texts(store: ObjectStore, count: int = BIG_ACTS, seed: int = 53) -> int:
    """A text for each of the big body's main documents, as ``read_texts`` and ``publish_texts`` leave
    them (the private record, the public ``.txt``); returns the bytes of text written."""
    from core.keys import public_document_text_key
    from load.document_texts import write_record

    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(TEXT_VOCABULARY)]
    written = 0
    for n in range(count):
        words = rng.choices(range(TEXT_VOCABULARY), weights=weights, k=TEXT_WORDS_PER_DOCUMENT)
        text = "\n".join(" ".join(text_word(w) for w in words[i:i + 12]) for i in range(0, len(words), 12))
        sha = f"{n:064x}"
        write_record(store, sha, {"status": "texte", "pages": 1, "ocr_pages": 0, "text": text})
        store.put_bytes(public_document_text_key(sha), text.encode("utf-8"))
        written += len(text)
    return written


def publish_big_body(store: ObjectStore, base: str, public_url: Callable[[str], str], publisher: str,
                     count: int = BIG_ACTS) -> Body:
    """Write the big body's year files and switch its manifest, as a night would."""
    for year, acts in big_body_acts(base, count).items():
        write_year_entries(store, BIG_SIREN, year, acts)
    publish_index(store, BIG_BODY, publisher, public_url)
    return BIG_BODY
