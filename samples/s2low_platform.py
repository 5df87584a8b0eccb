"""A loopback emulator of the S²LOW actes endpoints digor's connector reads, over mutual TLS.

The tests' S²LOW (faults injected, ``tests/s2low``) and the demo's (the second region's bodies are
on S²LOW: ``sample_platform`` serves their sample acts, certificates written under ``var/``).

Built from S²LOW's code (``libriciel/s2low``, ``public.ssl/modules/actes``): the same paths,
parameters and answers for

- ``GET /modules/actes/api/list_actes.php?status_id=&offset=&limit=&min_date=&max_date=``: JSON,
  the authority's transactions whose current status is ``status_id``, newest id first, ``limit``
  100 by default; ``min_date``/``max_date`` bound the day they reached that status (a timestamp
  compared with a date: ``max_date=D`` stops at D's midnight);
- ``GET /modules/actes/actes_transac_get_status.php?transaction=``: ``OK\\n<status>\\n<flux>``, or
  ``KO\\nNuméro de transaction invalide.``;
- ``GET /modules/actes/actes_transac_get_files_list.php?transaction=``: JSON list of files, or
  ``KO\\nPas d'acquittement recu`` before the acknowledgement;
- ``GET /modules/actes/actes_download_file.php?file=[&tampon=true]``: the file; one S²LOW no
  longer has is a 302 to the site's root (S²LOW puts its message in the session);
- ``GET /modules/actes/actes_transac_get_ARActe.php?id=``: the ARActe XML, or a 302 when none;
- ``GET /admin/authorities/admin_authorities_export.php``: ``collectivite.csv``, the collectivités
  (``authorities``) of a group administrator (``admins``), as ``AdminAuthorityController::exportListAction``;
  anyone else is redirected to the collectivités' page.

Authentication is the TLS client certificate: the server requires one signed by its CA (the
handshake fails otherwise), and the certificate's common name is the S²LOW user, whose
authority (a SIREN) is the only one it sees; a user enrolled with a password also needs HTTP
Basic, else ``KO\\nÉchec de l'authentification`` (legacy pages) or a 403 (the API).

Time: each transaction has the moments it reached its statuses; the emulator shows the state
at ``clock`` (everything when None). ``cancel`` annuls an acknowledged act as the préfecture's
ARAnnulation does: the act goes to status 0, an annulation transaction (type 6) to 4.

Faults (``inject``): ``slow``, ``error`` (``status``), ``429``, ``truncate``, ``403``, ``404``
like the Pastell emulator's, ``missing`` (downloads of the file ``file_id`` redirect: S²LOW lost
it) and ``changed`` (the file ``file_id`` answers other bytes from now on). Each applies
``times`` times (None: for ever) to requests whose path and query match ``path``.

The certificates (a CA, the server's, the users') are made by ``make_pki`` with ``cryptography``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import socket
import ssl
import threading
from base64 import b64decode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from samples import emulator_faults as faults

ACTES = "/modules/actes"
ROUTES = {
    f"{ACTES}/api/list_actes.php": "list",
    f"{ACTES}/actes_transac_get_status.php": "status",
    f"{ACTES}/actes_transac_get_files_list.php": "files",
    f"{ACTES}/actes_download_file.php": "download",
    f"{ACTES}/actes_transac_get_ARActe.php": "aracte",
    "/admin/authorities/admin_authorities_export.php": "authorities",
}
# ``AuthoritySQL::getColonneNameForExport``: the export's header.
EXPORT_HEADER = ["Nom", "Adresse email", "Numéro SIREN", "Adresse", "Code Postal", "Ville", "Numéro de téléphone",
                 "Numéro de fax", "Département", "Arrondissement", "Status", "Nom du groupe", "Type"]
ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
NATURES = {"1": ("DE", "Délibérations"), "2": ("AR", "Actes réglementaires"), "3": ("AI", "Actes individuels"),
           "4": ("CC", "Contrats,conventions et avenants"), "5": ("BF", "Documents budgétaires et financiers"),
           "6": ("AU", "Autres")}


# ---- certificates ------------------------------------------------------------------------
@dataclass
class Pki:
    folder: Path
    ca_pem: bytes
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[bytes, bytes]]  # common name -> (certificate PEM, key PEM)


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key, password: bytes | None = None) -> bytes:
    from cryptography.hazmat.primitives import serialization

    encryption = (serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool = False, server: bool = False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                                        critical=True)
    elif server:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1")),
                                                                     x509.DNSName("localhost")]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem_cert(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def make_pki(folder: Path, users: list[str], *, key_password: bytes | None = None) -> Pki:
    """A CA, the server's certificate (127.0.0.1) and one client certificate per user; plus
    ``"intruder"``, a client certificate of another CA that S²LOW must refuse."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _certificate("Emulated S2LOW CA", ca_key, "Emulated S2LOW CA", ca_key, ca=True)
    server_key = _key()
    server = _certificate("127.0.0.1", server_key, "Emulated S2LOW CA", ca_key, server=True)
    (folder / "server.pem").write_bytes(_pem_cert(server))
    (folder / "server.key").write_bytes(_pem_key(server_key))
    clients = {}
    for user in users:
        key = _key()
        clients[user] = (_pem_cert(_certificate(user, key, "Emulated S2LOW CA", ca_key)), _pem_key(key, key_password))
    other_key = _key()
    key = _key()
    clients["intruder"] = (_pem_cert(_certificate("intruder", key, "Another CA", other_key)), _pem_key(key))
    return Pki(folder, _pem_cert(ca), folder / "server.pem", folder / "server.key", clients)


# ---- data ----------------------------------------------------------------------------------
@dataclass
class EmFile:
    id: str
    name: str
    posted_filename: str
    mimetype: str
    content: bytes | None  # None: listed, but the archive lost it
    stamped: bytes | None = None  # what ``tampon=true`` answers for a PDF act
    code_pj: str = ""


@dataclass
class Transaction:
    id: str
    authority: str  # SIREN of the authority the transaction belongs to
    number: str
    subject: str
    decision_date: str
    nature_code: str
    classification: str
    statuses: list[tuple[int, str]]  # (status, when it was reached), in order
    files: list[EmFile] = field(default_factory=list)
    aracte: bytes | None = None
    type: str = "1"  # 1 an act's transmission, 6 an annulation (of the act of the same number)

    def status_at(self, clock: str | None) -> tuple[int, str] | None:
        reached = [s for s in self.statuses if clock is None or s[1] <= clock]
        return reached[-1] if reached else None


@dataclass
class Fault(faults.Fault):
    """The kinds of ``faults``, or ``missing``/``changed`` (of the file ``file_id``: ``content``)."""

    file_id: str | None = None
    content: bytes = b""


@dataclass
class Recorded:
    operation: str | None
    path: str
    query: dict
    user: str | None
    status: int | None = None
    fault: str | None = None


class S2lowEmulator(faults.FaultInjection, faults.LoopbackServer):
    fault_class = Fault
    scheme = "https"
    thread_name = "s2low-emulator"

    @property
    def handler(self) -> type:
        return _Handler

    def __init__(self, pki: Pki, users: dict[str, str], transactions: list[Transaction] = (),
                 passwords: dict[str, tuple[str, str]] | None = None):
        """``users``: certificate common name -> the SIREN of its authority; ``passwords``: common
        name -> (login, password) for a certificate several users share."""
        self.pki = pki
        self.users = dict(users)
        self.passwords = dict(passwords or {})
        self.transactions: list[Transaction] = list(transactions)
        self.clock: str | None = None
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.RLock()
        self.server: ThreadingHTTPServer | None = None
        # Called with each page a list answers (its transactions), before the answer goes: a test moves
        # or deletes transactions between two page reads with it.
        self.after_list: Callable[[list[Transaction]], None] | None = None
        # The group's collectivités (``name``, ``siren``, ``status``) and the users who administer it.
        self.authorities: list[dict] = []
        self.admins: set[str] = set()

    def cancel(self, transaction_id: str, when: str) -> Transaction:
        """The annulation of an acknowledged act at ``when``, as S²LOW records the préfecture's ARAnnulation
        (``ActesAnalyseFichierRecuController::traitementARAnnulation``): the act's transaction goes to 0
        "Annulé", the annulation's own transaction (type 6, the act's number) to 4."""
        with self.lock:
            index, act = next((i, t) for i, t in enumerate(self.transactions) if t.id == transaction_id)
            self.transactions[index] = replace(act, statuses=[*act.statuses, (0, when)])
            annulation = Transaction(str(max(int(t.id) for t in self.transactions) + 1), act.authority, act.number,
                                     act.subject, act.decision_date, act.nature_code, act.classification,
                                     [(1, when), (3, when), (4, when)], type="6")
            self.transactions.append(annulation)
        return annulation

    def visible(self, authority: str | None = None) -> dict[str, Transaction]:
        """Transactions that exist at the clock, by id."""
        return {t.id: t for t in self.transactions
                if (authority is None or t.authority == authority) and t.status_at(self.clock) is not None}

    def _make_server(self, handler: type) -> ThreadingHTTPServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        context.load_verify_locations(cadata=self.pki.ca_pem.decode("ascii"))
        context.verify_mode = ssl.CERT_REQUIRED  # Apache's SSLVerifyClient require

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, address = self.socket.accept()
                return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

            def handle_error(self, request, client_address):  # a refused handshake is not news
                pass

        return Server(("127.0.0.1", 0), handler)

    # ---- the API ----------------------------------------------------------------------
    def _take_fault(self, target: str) -> Fault | None:
        return self._take(lambda fault: fault.kind not in ("missing", "changed") and fault.matches(target))

    def _file_fault(self, kind: str, file_id: str) -> Fault | None:
        return self._take(lambda fault: fault.kind == kind and fault.file_id == file_id)

    def _export(self, user: str | None):
        if user not in self.admins:
            return 302, "text/html", b"", {"Location": "/admin/authorities/admin_authorities.php"}
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_HEADER)
        for entry in self.authorities:
            writer.writerow([entry.get("name", ""), "", entry.get("siren", ""), "", "", "", "", "", "029", "",
                             entry.get("status", "1"), "Groupe de démonstration", "Commune"])
        return 200, "text/csv", out.getvalue().encode("utf-8"), {
            "Content-Disposition": 'attachment; filename="collectivite.csv"'}

    def _transaction(self, authority: str, transaction_id: str) -> Transaction | None:
        return self.visible(authority).get(str(transaction_id or "").strip())

    def handle(self, operation: str, authority: str, query: dict, user: str | None = None):
        """(status, content type, body, headers) of one request of an authenticated user."""
        def one(name, default=None):
            return query.get(name, [default])[0]

        if operation == "authorities":
            return self._export(user)
        if operation == "list":
            status_id, offset, limit = int(one("status_id", 0) or 0), int(one("offset", 0) or 0), int(one("limit", 100))
            low, high = one("min_date"), one("max_date")
            rows = []
            for transaction in self.visible(authority).values():
                status, when = transaction.status_at(self.clock)
                if status != status_id:
                    continue
                if (low and when < low[:10]) or (high and when > high[:10]):  # timestamp vs date
                    continue
                rows.append(transaction)
            rows.sort(key=lambda t: int(t.id), reverse=True)
            page = rows[offset:offset + limit]
            if self.after_list is not None:
                self.after_list(page)
            result = {"status_id": status_id, "authority_id": authority, "offset": offset, "limit": limit,
                      "transactions": [{"id": t.id, "subject": t.subject, "number": t.number,
                                        "date": t.decision_date or None,
                                        "nature_descr": NATURES.get(t.nature_code, ("", ""))[1],
                                        "classification": t.classification, "type": t.type} for t in page]}
            return 200, "application/json", json.dumps(result).encode(), {}
        if operation == "download":
            file_id = str(one("file", ""))
            found = next((f for t in self.visible(authority).values() for f in t.files if f.id == file_id), None)
            if found is None or found.content is None or self._file_fault("missing", file_id):
                return 302, "text/html", b"", {"Location": "https://127.0.0.1/"}
            changed = self._file_fault("changed", file_id)
            if changed is not None:
                found.content = changed.content
                found.stamped = None
            stamped = one("tampon") and found.mimetype == "application/pdf" and found.stamped is not None
            content = found.stamped if stamped else found.content
            headers = {"Content-Disposition": f'attachment; filename="{found.posted_filename or found.name}"'}
            return 200, found.mimetype, content, headers
        key = "id" if operation == "aracte" else "transaction"
        transaction = self._transaction(authority, one(key, ""))
        if operation == "aracte":
            if transaction is None or transaction.aracte is None or \
                    all(s != 4 for s, when in transaction.statuses if self.clock is None or when <= self.clock):
                return 302, "text/html", b"", {"Location": "index.php"}
            return 200, "application/xml", transaction.aracte, {}
        if transaction is None:
            return 200, "text/plain", "KO\nNuméro de transaction invalide.".encode(), {}
        status, _ = transaction.status_at(self.clock)
        if operation == "status":
            flux = transaction.aracte if status == 4 and transaction.aracte else b""
            return 200, "text/plain", b"OK\n%d\n" % status + flux, {}
        if status in (1, 2, 3):
            return 200, "text/plain", b"KO\nPas d'acquittement recu", {}
        files = [{"id": f.id, "name": f.name, "posted_filename": f.posted_filename, "mimetype": f.mimetype,
                  "size": str(len(f.content or b"")), "sign": "", "code_pj": f.code_pj} for f in transaction.files]
        return 200, "application/json", json.dumps(files).encode(), {}


class _Handler(faults.FaultyHandler, BaseHTTPRequestHandler):
    emulator: S2lowEmulator
    server_version = "Apache"
    protocol_version = "HTTP/1.1"  # keep-alive: one handshake per connection, as Apache
    disable_nagle_algorithm = True  # headers and body are two TLS records: no delayed-ACK wait between them

    quiet_errors = (BrokenPipeError, ConnectionResetError, ssl.SSLError)

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.do_handshake()
            self._handshake_ok = True
        except (ssl.SSLError, OSError):
            self._handshake_ok = False
            self._linger()

    def _linger(self) -> None:
        """After a refused handshake, read what the client sent before closing, as a web server does:
        closing on unread bytes resets the connection, and the client would lose the TLS alert."""
        try:
            self.connection.settimeout(1.0)
            socket.socket.shutdown(self.connection, socket.SHUT_WR)
            while socket.socket.recv(self.connection, 65536):
                pass
        except OSError:
            pass

    def handle(self) -> None:
        if self._handshake_ok:
            super().handle()

    def _error_answer(self, status: int) -> tuple[str, bytes]:
        if status == 429:
            return "text/plain", b"Too many requests"
        return "text/html", f"<h1>Erreur {status}</h1>".encode()

    def _user(self) -> str | None:
        peer = self.connection.getpeercert() or {}
        names = [value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"]
        return names[0] if names else None

    def _handle(self) -> None:
        emulator = self.emulator
        parts = urlsplit(self.path)
        operation = ROUTES.get(parts.path)
        query = parse_qs(parts.query)
        user = self._user()
        record = Recorded(operation, parts.path, query, user)
        with emulator.lock:
            emulator.requests.append(record)
        authority = emulator.users.get(user or "")
        if authority is not None and user in emulator.passwords:
            expected = emulator.passwords[user]
            header = self.headers.get("Authorization") or ""
            try:
                given = tuple(b64decode(header.partition(" ")[2]).decode().split(":", 1)) if header else None
            except ValueError:
                given = None
            if given != expected:
                authority = None
        if authority is None:
            record.status = 403 if operation == "list" else 200
            if operation == "list":
                self._send(403, "application/json",
                           json.dumps({"status": "error", "error-message": "Échec de l'authentification"}).encode(), {})
            else:
                self._send(200, "text/plain", "KO\nÉchec de l'authentification".encode(), {})
            return
        if self._apply_fault(emulator._take_fault(self.path), record):
            return
        if operation is None:
            record.status = 404
            self._send(404, "text/html", b"<h1>Not Found</h1>", {})
            return
        status, mime, body, headers = emulator.handle(operation, authority, query, user)
        record.status = status
        self._send(status, mime, body, headers, self._truncate)


# ---- datasets ------------------------------------------------------------------------------
def acte_message(data: dict, document: str, annexes: list[str]) -> bytes:
    """The ACTES ``Acte`` message S²LOW writes for a transmission (``generateActeXMLFile``), ISO-8859-1."""
    q = lambda name: f"{{{ACTES_NS}}}{name}"  # noqa: E731
    root = etree.Element(q("Acte"), nsmap={"actes": ACTES_NS})
    if data.get("date_de_lacte"):
        root.set(q("Date"), str(data["date_de_lacte"]))
    root.set(q("NumeroInterne"), str(data.get("numero_de_lacte") or ""))
    root.set(q("CodeNatureActe"), str(data.get("acte_nature") or ""))
    code = str(data.get("classification") or "").split(" ")[0]
    for level, part in enumerate(p for p in code.split(".") if p.isdigit()):
        etree.SubElement(root, q(f"CodeMatiere{level + 1}")).set(q("CodeMatiere"), part)
    etree.SubElement(root, q("Objet")).text = str(data.get("objet") or "")
    etree.SubElement(root, q("ClassificationDateVersion")).text = "2019-08-29"
    etree.SubElement(etree.SubElement(root, q("Document")), q("NomFichier")).text = document
    group = etree.SubElement(root, q("Annexes"))
    group.set(q("Nombre"), str(len(annexes)))
    for annex in annexes:
        etree.SubElement(etree.SubElement(group, q("Annexe")), q("NomFichier")).text = annex
    etree.SubElement(root, q("DocumentPapier")).text = "N"
    return etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1")


def transactions_from_versions(versions, sirens_by_id_e: dict[str, str], first_id: int = 4000) -> list[Transaction]:
    """Platform document versions (``samples.actes.versions_from_drop_folder``) as the S²LOW transactions
    the same acts would be: one per document (its first version: S²LOW never changes a transaction), acknowledged
    (status 4) at the version's stamp; the files the form names, the stamped copy as ``tampon``."""
    transactions, seen = [], set()
    next_file = first_id * 10
    for version in sorted(versions, key=lambda v: (v.stamp, v.id_d)):
        siren = sirens_by_id_e.get(str(version.id_e))
        if version.id_d in seen or siren is None:
            continue
        seen.add(version.id_d)
        data = version.data
        names = lambda key: [data[key]] if isinstance(data.get(key), str) else list(data.get(key) or [])  # noqa: E731
        transaction_id = str(first_id + len(transactions))
        nature = str(data.get("acte_nature") or "")
        day = str(data.get("date_de_lacte") or "").replace("-", "")
        stem = f"029-{siren}-{day}-{data.get('numero_de_lacte')}-{NATURES.get(nature, ('AU',))[0]}-1-1"
        acts, annexes = names("arrete"), names("autre_document_attache")
        stamped = names("acte_tamponne")
        files = [EmFile(str(next_file), f"{stem}_0.xml", "", "text/xml",
                        acte_message(data, f"{stem}_1.pdf", [f"{stem}_{k + 2}.pdf" for k in range(len(annexes))]))]
        for k, name in enumerate(acts + annexes):
            mime = "application/pdf" if name.lower().endswith(".pdf") else "application/xml"
            content = version.files.get(name)
            stamp = version.files.get(stamped[0]) if k == 0 and stamped else None
            files.append(EmFile(str(next_file + 1 + k), f"{stem}_{k + 1}.{name.rsplit('.', 1)[-1]}", name, mime,
                                content, stamp, "99_DE" if k == 0 else "99_AU"))
        next_file += 10
        aracte = next((version.files[n] for n in names("aractes") if n in version.files), None)
        posted = str(data.get("date_tdt_postage") or version.stamp[:10])
        statuses = [(1, f"{posted} 08:00:00"), (3, f"{posted} 08:05:00"), (4, version.stamp)]
        transactions.append(Transaction(transaction_id, siren, str(data.get("numero_de_lacte") or ""),
                                        str(data.get("objet") or ""), str(data.get("date_de_lacte") or ""), nature,
                                        str(data.get("classification") or "").split(" ")[0], statuses, files, aracte))
    return transactions


# ---- the demo's platform -------------------------------------------------------------------
@contextmanager
def sample_platform(folder: Path, registry_path: Path, nights) -> Iterator[tuple[S2lowEmulator, dict[str, str]]]:
    """S²LOW serving the sample acts of the registry's bodies on S²LOW (``samples.actes``' generator,
    their documents written under ``folder/acts``), over mutual TLS on loopback with certificates made
    now under ``folder/pki`` (a CA, the server's, one per body's authority); yields the running emulator
    and the ``AIRFLOW_CONN_*`` variables of each body's connection (files named, no PEM in them)."""
    from core.config import S2LOW_CONN_ID
    from core.registry import load_registry
    from samples.actes import generate_drop_folder, versions_from_drop_folder

    registry = load_registry(registry_path)
    bodies = [body for body in registry.bodies if body.source_of("") == "s2low"]
    if not bodies:
        raise ValueError(f"{registry_path}: no body is on S²LOW (source: s2low)")
    generate_drop_folder(folder / "acts", registry_path, nights)
    versions, _ = versions_from_drop_folder(folder / "acts")
    pki = make_pki(folder / "pki", [body.siren for body in bodies])
    ca = folder / "pki" / "ca.pem"
    ca.write_bytes(pki.ca_pem)
    connections = {}
    for body in bodies:
        cert, key = pki.clients[body.siren]
        (folder / "pki" / f"{body.siren}.pem").write_bytes(cert)
        (folder / "pki" / f"{body.siren}.key").write_bytes(key)
        (folder / "pki" / f"{body.siren}.key").chmod(0o600)
    ids = {str(body.pastell_id_e or body.siren): body.siren for body in bodies}
    with S2lowEmulator(pki, {body.siren: body.siren for body in bodies}, transactions_from_versions(versions, ids)) \
            as emulator:
        for body in bodies:
            extra = {"client_cert_path": str(folder / "pki" / f"{body.siren}.pem"),
                     "client_key_path": str(folder / "pki" / f"{body.siren}.key"), "verify": str(ca)}
            name = "AIRFLOW_CONN_" + (body.s2low_conn_id or S2LOW_CONN_ID).upper()
            connections[name] = json.dumps({"conn_type": "http", "host": emulator.url, "extra": extra})
        yield emulator, connections
