"""Server-side sessions: the cookie holds a random id only, the session's state stays in the portail's
own store (``DIGOR_PORTAIL_STATE``), so that signing out or the end of a session makes a copied
cookie worthless.

The state is kept under the digest of the id (the store never holds a usable id), with its
expiry; a new id is given when an agent signs in (no fixation) and the state is deleted when the
session is emptied (signing out).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection

from core.keys import portail_session_key
from core.store import ObjectStore


def _key(session_id: str) -> str:
    return portail_session_key(hashlib.sha256(session_id.encode()).hexdigest())


class SessionStore:
    """Sessions' state in a store, each for at most ``max_age`` seconds from its last write."""

    def __init__(self, store: ObjectStore, max_age: int):
        self.store, self.max_age = store, max_age

    def load(self, session_id: str) -> dict:
        if not session_id or len(session_id) > 100:
            return {}
        try:
            saved = json.loads(self.store.get_bytes(_key(session_id)))
        except (FileNotFoundError, ValueError):
            return {}
        if not isinstance(saved, dict) or saved.get("expires", 0) < time.time():
            self.delete(session_id)
            return {}
        return dict(saved.get("data") or {})

    def save(self, session_id: str, data: dict) -> None:
        self.store.put_bytes(_key(session_id), json.dumps({"expires": time.time() + self.max_age, "data": data}).encode())

    def delete(self, session_id: str) -> None:
        self.store.delete(_key(session_id))


class ServerSessions:
    """ASGI middleware: ``request.session`` read from and written to a ``SessionStore``; the cookie is
    ``Secure``, ``HttpOnly``, ``SameSite=Lax``."""

    def __init__(self, app, sessions: SessionStore, cookie: str):
        self.app, self.sessions, self.cookie = app, sessions, cookie

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        session_id = HTTPConnection(scope).cookies.get(self.cookie, "")
        before = await run_in_threadpool(self.sessions.load, session_id) if session_id else {}
        scope["session"] = dict(before)

        async def sending(message):
            if message["type"] == "http.response.start":
                await self._commit(scope, session_id, before, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, sending)

    async def _commit(self, scope, session_id: str, before: dict, headers: MutableHeaders) -> None:
        after = scope["session"]
        if after == before:
            return
        renew = not before or ("agent" in after and before.get("agent") != after.get("agent"))
        if session_id and before and (renew or not after):
            await run_in_threadpool(self.sessions.delete, session_id)
        if not after:
            headers.append("Set-Cookie", f"{self.cookie}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
            return
        if renew or not session_id:
            session_id = secrets.token_urlsafe(32)  # a new id for a new session and at every sign-in
        await run_in_threadpool(self.sessions.save, session_id, after)
        headers.append("Set-Cookie", f"{self.cookie}={session_id}; Path=/; Max-Age={self.sessions.max_age}; "
                                     "HttpOnly; Secure; SameSite=Lax")
