"""The agents' space: server-rendered pages in French, usable without JavaScript.

Every page needs a valid session (an agent signed in through the region's provider, for at most
``session_max_age_seconds``); every form carries the session's CSRF token; an agent sees and
acts on their own bodies' acts only (all of them with the regional admin role), and on acts that
may name a person only with the HR role. A refusal answers like an unknown act (no oracle) and is
logged with the agent's pseudonym, never their name or the act's content.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from chains import actes as actes_chain
from core.config import PortailSettings, Settings
from core.document_kind import document_headers
from core.ledger import digest_recipients, settings_history, write_digest_choice
from core.nomenclature_actes import ALL_NATURES
from core.registry import SETTABLE, WIDGET_COLOURS, WIDGET_THEMES, body_registry, widget_problem
from core.store import open_store
from portail.actions import DONE, FAILED, Decisions, RateLimiter
from portail.acts import ACTIONS, STATES, Acts, act_id, decided_by, documents, why
from portail.auth import Agent, agent_from_claims
from portail.sessions import ServerSessions, SessionStore

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "digor_portail"
MAX_REASON = 1000
log = logging.getLogger("digor.portail")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; frame-src {public}")
THEME_LABELS = {"clair": "Clair", "sombre": "Sombre", "vert": "Vert", "rouge": "Rouge", "violet": "Violet",
                "sable": "Sable", "contraste-eleve": "Contraste élevé"}
THEME_ALIASES = {"default": "clair", "defaut": "clair", "dark": "sombre"}  # as widgets/commun/theme.js reads them
SETTING_LABELS = {"open_data": "open data", "automatic_publication": "publication automatique",
                  "publish_annexes": "annexes"}


class SecurityHeaders:
    """Headers on every answer: no framing, no sniffing, no caching of agents' pages."""

    def __init__(self, app, public_origin: str):
        self.app = app
        self.csp = CSP.format(public=public_origin)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message):
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                for name, value in ((b"content-security-policy", self.csp), (b"x-content-type-options", "nosniff"),
                                    (b"referrer-policy", "same-origin"), (b"cache-control", "no-store"),
                                    (b"x-frame-options", "DENY")):
                    if name not in present:
                        headers.append((name, value.encode()))
            await send(message)

        await self.app(scope, receive, sending)


def _local_path(value: str | None, default: str) -> str:
    """A path of this site to go back to, never another site's URL."""
    if (value and value.startswith("/") and not value.startswith("//") and "\\" not in value
            and value.isprintable()):  # browsers drop tabs and newlines: "/\t/site" would be "//site"
        return value
    return default


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "'none'"


def settings_summary(values: dict) -> str:
    """A body's settings in a few French words, for its history."""
    words = [f"{label} : {'oui' if values.get(name) else 'non'}" for name, label in SETTING_LABELS.items()]
    widget = values.get("widget") or {}
    theme = THEME_LABELS.get(THEME_ALIASES.get(widget.get("theme", ""), widget.get("theme", "")), "Clair")
    colours = " ".join(widget[name] for name in WIDGET_COLOURS if widget.get(name))
    return ", ".join(words + [f"thème {theme}" + (f" ({colours})" if colours else "")])


def create_app(settings: Settings, portail: PortailSettings, oauth: OAuth,
               decisions: Decisions | None = None) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(STATES=STATES, NATURES=ALL_NATURES, ACTIONS=ACTIONS)
    state = open_store(portail.state_url)
    decisions = decisions or Decisions(settings, portail, state)
    limiter = RateLimiter(portail.actions_per_minute)

    def agent_of(request: Request) -> Agent | None:
        since = request.session.get("since")
        data = request.session.get("agent")
        if not data or not isinstance(since, (int, float)) or time.time() - since > portail.session_max_age_seconds:
            return None
        try:
            return Agent.from_session(data)
        except TypeError:
            return None

    def page(request: Request, name: str, context: dict, status_code: int = 200) -> Response:
        agent = agent_of(request)
        return templates.TemplateResponse(request, name, {
            "agent": agent, "csrf": request.session.get("csrf", "") if agent else "", **context,
        }, status_code=status_code)

    def refuse(request: Request, status: int, why_code: str, agent: Agent | None = None, siren: str = "") -> Response:
        """Log a refusal without personal data, and answer it in French."""
        route = request.scope.get("route")
        log.warning("refused %s %s: %s (agent %s, body %s)", request.method, getattr(route, "path", "?"), why_code,
                    agent.pseudonym if agent else "none", siren if siren.isdigit() else "-")
        messages = {
            401: ("Connexion requise", "Votre session n'est pas valide ou a expiré : reconnectez-vous."),
            403: ("Action refusée", "Le formulaire a expiré ou ne vient pas de cette page : rechargez la page "
                                    "et recommencez."),
            404: ("Acte introuvable", "Cet acte n'existe pas ou ne fait pas partie des actes que vous pouvez voir."),
            429: ("Trop d'actions", "Vous avez fait trop d'actions en peu de temps : attendez une minute."),
        }
        title, text = messages[status]
        return page(request, "erreur.html", {"title": title, "text": text}, status_code=status)

    def signed_in(handler):
        async def guarded(request: Request) -> Response:
            agent = agent_of(request)
            if agent is None:
                request.session.pop("agent", None)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse("/connexion?" + urlencode({"suite": target}), status_code=303)
            return await handler(request, agent)
        return guarded

    async def home(request: Request) -> Response:
        return RedirectResponse("/a-statuer" if agent_of(request) else "/connexion", status_code=303)

    async def sign_in_page(request: Request) -> Response:
        suite = _local_path(request.query_params.get("suite"), "/a-statuer")
        return page(request, "connexion.html", {"suite": suite, "error": request.query_params.get("erreur")})

    async def sign_in(request: Request) -> Response:
        request.session["suite"] = _local_path(request.query_params.get("suite"), "/a-statuer")
        return await oauth.region.authorize_redirect(request, str(request.url_for("callback")))

    async def callback(request: Request) -> Response:
        try:
            token = await oauth.region.authorize_access_token(request)
        except OAuthError as error:
            log.warning("sign-in refused by the provider or invalid: %s", error.error)
            return RedirectResponse("/connexion?erreur=1", status_code=303)
        agent = agent_from_claims(dict(token.get("userinfo") or {}), portail)
        suite = _local_path(request.session.get("suite"), "/a-statuer")
        request.session.clear()  # a new session for the signed-in agent (no fixation)
        if not agent.sub or not (agent.sirens or agent.admin):
            log.warning("sign-in refused: no body in the claims (agent %s)", agent.pseudonym)
            return page(request, "erreur.html", {
                "title": "Aucun organisme", "text": "Votre compte ne donne accès à aucun organisme : "
                "demandez à l'administrateur de la région de vous rattacher au vôtre."}, status_code=403)
        request.session.update(agent=agent.to_session(), since=time.time(), csrf=secrets.token_urlsafe(32))
        log.info("agent %s signed in for %s", agent.pseudonym, "every body" if agent.admin else ",".join(agent.sirens))
        return RedirectResponse(suite, status_code=303)

    async def sign_out(request: Request) -> Response:
        form = await request.form()
        if agent_of(request) and not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "")):
            return refuse(request, 403, "missing or wrong CSRF token", agent_of(request))
        request.session.clear()
        return page(request, "connexion.html", {"suite": "/a-statuer", "signed_out": True})

    @signed_in
    async def to_decide(request: Request, agent: Agent) -> Response:
        acts = await run_in_threadpool(Acts, settings, agent)
        return page(request, "a_statuer.html", {"acts": acts.to_decide(), "hidden": acts.hidden,
                                                "bodies": acts.bodies(), "retour": "/a-statuer"})

    @signed_in
    async def publications(request: Request, agent: Agent) -> Response:
        acts = await run_in_threadpool(Acts, settings, agent)
        query = {name: request.query_params.get(name, "").strip()[:200]
                 for name in ("q", "etat", "nature", "annee", "organisme")}
        found = acts.search(query["q"], query["etat"], query["nature"], query["annee"], query["organisme"])
        pages = max(1, math.ceil(len(found) / portail.page_size))
        number = request.query_params.get("page", "1")
        number = min(max(int(number), 1), pages) if number.isdigit() else 1
        shown = found.iloc[(number - 1) * portail.page_size: number * portail.page_size]

        def link(to: int) -> str:
            return "/publications?" + urlencode({**{k: v for k, v in query.items() if v}, "page": to})

        return page(request, "publications.html", {
            "acts": shown, "total": len(found), "query": query, "page_number": number, "pages": pages,
            "previous": link(number - 1) if number > 1 else None, "next": link(number + 1) if number < pages else None,
            "years": acts.years(), "bodies": acts.bodies(), "hidden": acts.hidden,
            "retour": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        })

    @signed_in
    async def act_page(request: Request, agent: Agent) -> Response:
        acts = await run_in_threadpool(Acts, settings, agent)
        siren = request.path_params["siren"]
        act = acts.find(f"{siren}/{request.path_params['source_id']}")
        if act is None:
            return refuse(request, 404, "act not found or not the agent's", agent, siren)
        return page(request, "acte.html", {
            "act": act, "why": why(act), "documents": documents(act), "history": await run_in_threadpool(acts.history, act),
            "actions": [a for a in ACTIONS.values() if act["decision"] in a.applies_to],
            "retour": f"/actes/{act_id(act)}", "body_name": dict(acts.bodies()).get(act["siren"], act["coll_nom"]),
        })

    @signed_in
    async def document(request: Request, agent: Agent) -> Response:
        acts = await run_in_threadpool(Acts, settings, agent)
        siren = request.path_params["siren"]
        act = acts.find(f"{siren}/{request.path_params['source_id']}")
        items = documents(act) if act is not None else []
        index = request.path_params["index"]
        if index >= len(items):
            return refuse(request, 404, "document not found or not the agent's", agent, siren)
        data = await run_in_threadpool(actes_chain.CHAIN.store(settings).get_bytes, items[index]["key"])
        return Response(data, headers=document_headers(data))

    async def decide(request: Request) -> Response:
        agent = agent_of(request)
        form = await request.form()
        if agent is None:
            return refuse(request, 401, "no valid session")
        if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "")):
            return refuse(request, 403, "missing or wrong CSRF token", agent)
        if not limiter.allow(agent.sub):
            return refuse(request, 429, "rate limit", agent)
        retour = _local_path(str(form.get("retour", "")), "/a-statuer")
        action = ACTIONS.get(str(form.get("action", "")))
        reason = " ".join(str(form.get("motif", "")).split())
        wanted = list(dict.fromkeys(str(v) for v in form.getlist("actes")))
        problem = (
            "Choisissez au moins un acte." if not wanted else
            f"Choisissez au plus {portail.max_acts_per_action} actes à la fois." if len(wanted) > portail.max_acts_per_action else
            "Choisissez la décision à prendre." if action is None else
            "Le motif est obligatoire : il est conservé dans l'historique de l'acte." if not reason else
            f"Le motif ne doit pas dépasser {MAX_REASON} caractères." if len(reason) > MAX_REASON else None
        )
        if problem:
            return page(request, "erreur.html", {"title": "Décision non enregistrée", "text": problem,
                                                 "retour": retour}, status_code=400)
        acts = await run_in_threadpool(Acts, settings, agent)
        found = [acts.find(identifier) for identifier in wanted]
        if any(act is None for act in found):
            unknown = next(i for i, a in zip(wanted, found) if a is None)
            return refuse(request, 404, "decision on an act not found or not the agent's", agent, unknown.split("/")[0])
        wrong = [act for act in found if act["decision"] not in action.applies_to]
        if wrong:
            names = ", ".join(f"n° {a['numero']} ({STATES[a['state']].lower()})" for a in wrong[:10])
            return page(request, "erreur.html", {
                "title": "Décision non enregistrée",
                "text": f"« {action.label} » ne s'applique pas à : {names}. Aucune décision n'a été enregistrée.",
                "retour": retour}, status_code=400)
        operation = await run_in_threadpool(decisions.record, agent, found, action, reason)
        return RedirectResponse(f"/operations/{operation.id}", status_code=303)

    @signed_in
    async def operation_page(request: Request, agent: Agent) -> Response:
        operation = decisions.status(request.path_params["operation"], agent)
        if operation is None:
            return refuse(request, 404, "operation not found or not the agent's", agent)
        return page(request, "operation.html", {"operation": operation, "DONE": DONE, "FAILED": FAILED})

    @signed_in
    async def operation_state(request: Request, agent: Agent) -> Response:
        operation = decisions.status(request.path_params["operation"], agent)
        if operation is None:
            return refuse(request, 404, "operation not found or not the agent's", agent)
        return JSONResponse({"etat": operation.state, "message": operation.message, "fini": operation.over})

    def own_body(agent: Agent, siren: str):
        """The body of the registry (with its agents' settings) the agent acts for, else None."""
        if not agent.acts_for(siren):
            return None
        return body_registry(settings).by_siren(siren)

    @signed_in
    async def bodies_page(request: Request, agent: Agent) -> Response:
        registry = await run_in_threadpool(body_registry, settings)
        bodies = [(b.siren, b.name) for b in registry.bodies if agent.acts_for(b.siren)]
        if len(bodies) == 1:
            return RedirectResponse(f"/organismes/{bodies[0][0]}/parametres", status_code=303)
        return page(request, "organismes.html", {"bodies": bodies})

    def settings_context(agent: Agent, body, digest_saved: str = "") -> dict:
        widget = dict(body.widget)
        theme = THEME_ALIASES.get(widget.get("theme", ""), widget.get("theme", "")) or "clair"
        colours = {name: widget[name] for name in WIDGET_COLOURS if widget.get(name)}
        widget_url = settings.public_url(f"public/widgets/actes.html?siren={body.siren}")
        query = {"theme": theme, **({"couleur_principale": colours.get("primary_color", ""),
                                     "couleur_fond": colours.get("background_color", ""),
                                     "couleur_texte": colours.get("text_color", "")} if len(colours) == 3 else {})}
        store = actes_chain.CHAIN.store(settings)
        history = [{"at": change["at"].replace("T", " ")[:19], "by": decided_by("engineer", change["actor"]),
                    "reason": change["reason"], "summary": settings_summary(change["settings"])}
                   for change in settings_history(store, body.siren)]
        subscribed = any(r["who"] == agent.pseudonym for r in digest_recipients(store, body.siren).get(body.siren, []))
        return {"body": body, "theme": theme if theme in WIDGET_THEMES else "clair",
                "colours": colours if len(colours) == 3 else {},
                "themes": [(name, THEME_LABELS[name]) for name in WIDGET_THEMES], "widget_url": widget_url,
                "preview_url": f"{widget_url}&{urlencode(query)}",
                "configurator_url": settings.public_url(f"public/widgets/configurateur.html?siren={body.siren}"),
                "history": history, "agent_email": agent.email, "subscribed": subscribed,
                "digest_saved": digest_saved}

    @signed_in
    async def settings_page(request: Request, agent: Agent) -> Response:
        siren = request.path_params["siren"]
        body = await run_in_threadpool(own_body, agent, siren)
        if body is None:
            return refuse(request, 404, "settings of a body not found or not the agent's", agent, siren)
        saved = {"oui": "Votre choix du récapitulatif quotidien est enregistré : vous le recevrez chaque jour.",
                 "non": "Votre choix est enregistré : vous ne recevrez plus le récapitulatif quotidien."}
        context = await run_in_threadpool(settings_context, agent, body,
                                          saved.get(request.query_params.get("recapitulatif", ""), ""))
        return page(request, "parametres.html", context)

    async def checked_form(request: Request, what: str):
        """(agent, form, body) of a settings form, or the refusal to answer."""
        agent = agent_of(request)
        form = await request.form()
        siren = request.path_params["siren"]
        if agent is None:
            return refuse(request, 401, "no valid session")
        if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "")):
            return refuse(request, 403, "missing or wrong CSRF token", agent)
        if not limiter.allow(agent.sub):
            return refuse(request, 429, "rate limit", agent)
        body = await run_in_threadpool(own_body, agent, siren)
        if body is None:
            return refuse(request, 404, f"{what} of a body not found or not the agent's", agent, siren)
        return agent, form, body

    async def change_settings(request: Request) -> Response:
        checked = await checked_form(request, "settings")
        if isinstance(checked, Response):
            return checked
        agent, form, body = checked
        retour = f"/organismes/{body.siren}/parametres"
        theme = str(form.get("theme", ""))
        widget = {"theme": theme} if theme else {}
        if form.get("personnaliser") == "oui":
            widget.update({name: str(form.get(name, "")).lower() for name in WIDGET_COLOURS})
        wanted = {"open_data": form.get("open_data") == "oui",
                  "automatic_publication": form.get("automatic_publication") == "oui",
                  "publish_annexes": form.get("publish_annexes") == "oui", "widget": widget}
        reason = " ".join(str(form.get("motif", "")).split())
        current = {name: getattr(body, name) for name in SETTABLE}
        problem = widget_problem(widget)
        problem = (
            f"Couleurs du widget refusées : {problem}." if problem else
            "Le motif est obligatoire : il est conservé dans l'historique de l'organisme." if not reason else
            f"Le motif ne doit pas dépasser {MAX_REASON} caractères." if len(reason) > MAX_REASON else
            "Aucun paramètre n'a changé." if wanted == current else None
        )
        if problem:
            return page(request, "erreur.html", {"title": "Paramètres non enregistrés", "text": problem,
                                                 "retour": retour}, status_code=400)
        operation = await run_in_threadpool(decisions.change_settings, agent, body.siren, wanted, reason)
        return RedirectResponse(f"/operations/{operation.id}", status_code=303)

    async def change_digest(request: Request) -> Response:
        checked = await checked_form(request, "digest")
        if isinstance(checked, Response):
            return checked
        agent, form, body = checked
        if not agent.email:
            return page(request, "erreur.html", {"title": "Choix non enregistré", "text": "Votre compte n'indique "
                         "pas d'adresse électronique.", "retour": f"/organismes/{body.siren}/parametres"},
                        status_code=400)
        wanted = form.get("recevoir") == "oui"
        await run_in_threadpool(write_digest_choice, actes_chain.CHAIN.store(settings), body.siren, agent.pseudonym,
                                agent.email, agent.name, wanted)
        log.info("agent %s %s the digest of %s", agent.pseudonym, "asked for" if wanted else "stopped", body.siren)
        return RedirectResponse(f"/organismes/{body.siren}/parametres?recapitulatif={'oui' if wanted else 'non'}",
                                status_code=303)

    async def error_page(request: Request, error: HTTPException) -> Response:
        text = "Cette page n'existe pas." if error.status_code == 404 else "La demande n'a pas pu aboutir."
        return page(request, "erreur.html", {"title": "Page introuvable" if error.status_code == 404 else "Erreur",
                                             "text": text}, status_code=error.status_code)

    routes = [
        Route("/", home),
        Route("/connexion", sign_in_page),
        Route("/connexion/oidc", sign_in),
        Route("/connexion/retour", callback, name="callback"),
        Route("/deconnexion", sign_out, methods=["POST"]),
        Route("/a-statuer", to_decide),
        Route("/publications", publications),
        Route("/actes/{siren}/{source_id}", act_page),
        Route("/actes/{siren}/{source_id}/documents/{index:int}", document),
        Route("/decisions", decide, methods=["POST"]),
        Route("/organismes", bodies_page),
        Route("/organismes/{siren}/parametres", settings_page),
        Route("/organismes/{siren}/parametres", change_settings, methods=["POST"]),
        Route("/organismes/{siren}/recapitulatif", change_digest, methods=["POST"]),
        Route("/operations/{operation}", operation_page),
        Route("/operations/{operation}/etat", operation_state),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders, public_origin=_origin(settings.public_base_url)),
        Middleware(ServerSessions, sessions=SessionStore(state, portail.session_max_age_seconds),
                   cookie=SESSION_COOKIE),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        decisions.close()

    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: error_page},
                    lifespan=lifespan, max_body_size=1024 * 1024)
    app.state.decisions = decisions
    return app
