"""The portal's web application (FastAPI, server-rendered Jinja2 pages, no build step).

Pages: log in; the account's uploads and the hand-in form; one upload (status, checks,
verdict, its rejected rows and their downloads); the steward's dashboard and accounts.
Every form carries the session's CSRF token; state-changing requests without it are
refused. Responses are never cached and carry a strict Content-Security-Policy (scripts
and styles only from the portal itself). An upload the account may not see is "not
found", the same as one that does not exist.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from islandbridge.portal.accounts import ROLES, Account, AccountError, AccountService, LoginRefused
from islandbridge.portal.i18n import LANGUAGES, text
from islandbridge.portal.receive import UploadRefused, receive_upload
from islandbridge.portal.results import PAGE_ROWS, feedback_files, read_rejects
from islandbridge.portal.sessions import Session, SessionService, cookie_name
from islandbridge.portal.settings import PortalSettings
from islandbridge.portal.store import PortalStore, downloads, now
from islandbridge.portal.uploads import SigningError, UploadService

__all__ = ["create_app"]

log = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent
_LANG_COOKIE = "ib_lang"
_MAX_FORM = 16 << 10
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass
class Visit:
    session: Session
    account: Account | None
    language: str
    new_cookie: bool = False

    def t(self, key: str, **values: object) -> str:
        return text(key, self.language, **values)


class _NotFound(Exception):
    pass


class _Forbidden(Exception):
    pass


def create_app(settings: PortalSettings) -> FastAPI:
    """The portal for one installation."""
    settings.portal_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.portal_dir.chmod(0o700)
    store = PortalStore(settings.accounts_url)
    accounts = AccountService(store, settings)
    session_service = SessionService(store, settings)
    upload_service = UploadService(settings, store)
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    cookie = cookie_name(settings)

    app = FastAPI(title="islandbridge portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.store = store
    app.state.accounts = accounts
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def peer_of(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def client_of(request: Request) -> str:
        """The client's address: the proxy's ``X-Forwarded-For`` (its last entry, the one
        the proxy itself added) when the peer is a trusted proxy, else the peer."""
        peer = peer_of(request)
        forwarded = request.headers.get("x-forwarded-for", "")
        if peer in settings.trusted_proxies and forwarded:
            return forwarded.split(",")[-1].strip()[:64] or peer
        return peer

    def visit(request: Request) -> Visit:
        session = session_service.find(request.cookies.get(cookie))
        new = session is None
        if session is None:
            session = session_service.start()
        account = accounts.get(session.account_id) if session.account_id else None
        if account is not None and account.disabled:
            account = None
        if settings.sso_header:
            user = request.headers.get(settings.sso_header)
            trusted = peer_of(request) in settings.trusted_proxies
            if user and not trusted:
                log.warning("portal: single sign-on header from an untrusted address ignored")
            elif user and (account is None or account.username != user):
                vouched = accounts.single_sign_on(user)
                if vouched is not None:
                    session = session_service.login(session.token, vouched.id)
                    account, new = vouched, True
        language = request.cookies.get(_LANG_COOKIE, settings.default_language)
        if language not in LANGUAGES:
            language = settings.default_language
        return Visit(session, account, language, new)

    def finish(response: Response, v: Visit) -> Response:
        if v.new_cookie:
            response.set_cookie(
                cookie,
                v.session.token,
                httponly=True,
                secure=settings.cookie_secure,
                samesite="strict",
                path="/",
            )
        return response

    def page(request: Request, v: Visit, name: str, status: int = 200, **context: Any):
        response = templates.TemplateResponse(
            request,
            name,
            {"v": v, "t": v.t, "csrf": v.session.csrf, "settings": settings, **context},
            status_code=status,
        )
        return finish(response, v)

    def redirect(v: Visit, to: str) -> Response:
        return finish(RedirectResponse(to, status_code=303), v)

    def signed_in(request: Request) -> tuple[Visit, Account]:
        v = visit(request)
        if v.account is None:
            raise _Login(v)
        return v, v.account

    class _Login(Exception):
        def __init__(self, v: Visit) -> None:
            self.v = v

    @app.exception_handler(_Login)
    async def _to_login(request: Request, exc: _Login):
        if request.headers.get("accept", "").startswith("application/json"):
            return finish(JSONResponse({"error": "login"}, status_code=401), exc.v)
        return redirect(exc.v, "/login")

    @app.exception_handler(_NotFound)
    async def _not_found(request: Request, exc: _NotFound):
        v = visit(request)
        return page(request, v, "message.html", 404, message=v.t("not_found"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        v = visit(request)
        key = "not_found" if exc.status_code == 404 else "forbidden"
        return page(request, v, "message.html", exc.status_code, message=v.t(key))

    @app.exception_handler(_Forbidden)
    async def _forbidden(request: Request, exc: _Forbidden):
        v = visit(request)
        log.warning("portal: a request without a valid CSRF token refused")
        return page(request, v, "message.html", 403, message=v.t("forbidden"))

    async def small_form(request: Request, v: Visit) -> dict[str, str]:
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > _MAX_FORM:
            raise _Forbidden
        form = await request.form()
        values = {k: str(val) for k, val in form.items() if isinstance(val, str)}
        if not v.session.csrf_ok(values.get("csrf")):
            raise _Forbidden
        return values

    # -- logging in -------------------------------------------------------------------------

    @app.get("/")
    async def home(request: Request):
        v = visit(request)
        return redirect(v, "/uploads" if v.account else "/login")

    @app.get("/login")
    async def login_page(request: Request):
        v = visit(request)
        if v.account is not None:
            return redirect(v, "/uploads")
        return page(request, v, "login.html")

    @app.post("/login")
    async def login(request: Request):
        v = visit(request)
        form = await small_form(request, v)
        if settings.sso_only:
            return page(request, v, "login.html", 403, error=v.t("sso_only"))
        try:
            account = accounts.authenticate(
                form.get("username", "")[:64], form.get("password", "")[:1024], client_of(request)
            )
        except LoginRefused as refused:
            throttled = refused.reason == "throttled"
            key = "login_throttled" if throttled else "login_failed"
            return page(request, v, "login.html", 429 if throttled else 401, error=v.t(key))
        v.session = session_service.login(v.session.token, account.id)
        v.account, v.new_cookie = account, True
        return redirect(v, "/uploads")

    @app.post("/logout")
    async def logout(request: Request):
        v = visit(request)
        await small_form(request, v)
        session_service.end(v.session.token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(cookie, path="/", secure=settings.cookie_secure, httponly=True)
        return response

    @app.get("/lang/{code}")
    async def language(request: Request, code: str, next: str = "/"):
        v = visit(request)
        target = next if next.startswith("/") and not next.startswith(("//", "/\\")) else "/"
        response = redirect(v, target)
        if code in LANGUAGES:
            response.set_cookie(
                _LANG_COOKIE, code, httponly=True, secure=settings.cookie_secure, samesite="strict"
            )
        return response

    # -- uploads ----------------------------------------------------------------------------

    def viewable(account: Account, upload_id: str) -> dict[str, Any]:
        upload = upload_service.get(upload_id)
        if upload is None or not account.sees(upload["department"], upload["branch"]):
            raise _NotFound
        return upload_service.refresh(upload)

    @app.get("/uploads")
    async def upload_list(request: Request):
        v, account = signed_in(request)
        rows = [upload_service.refresh(u) for u in upload_service.visible(account)]
        return page(
            request,
            v,
            "uploads.html",
            uploads=rows,
            sources=upload_service.sources_for(account),
            max_mb=settings.max_upload_bytes >> 20,
        )

    @app.post("/uploads")
    async def hand_in(request: Request):
        v, account = signed_in(request)
        wants_json = request.headers.get("accept", "").startswith("application/json")
        upload_id = secrets.token_urlsafe(16)
        try:
            if account.is_steward:
                raise UploadRefused(403, "unknown_source")
            received = await receive_upload(
                request,
                upload_service.folder(upload_id),
                max_file_bytes=settings.max_upload_bytes,
                max_manifest_bytes=settings.max_manifest_bytes,
                csrf_ok=v.session.csrf_ok,
            )
            upload = upload_service.accept(account, upload_id, received)
        except UploadRefused as refused:
            shutil.rmtree(upload_service.folder(upload_id), ignore_errors=True)
            log.warning("portal upload refused before storing: %s", refused.reason)
            if wants_json:
                body = {"error": refused.reason, "message": v.t(refused.reason)}
                return finish(JSONResponse(body, status_code=refused.status), v)
            return page(
                request,
                v,
                "message.html",
                refused.status,
                message=f"{v.t('refused_upload')}: {v.t(refused.reason)}",
            )
        if not wants_json:
            return redirect(v, f"/uploads/{upload['id']}")
        body: dict[str, Any] = {"id": upload["id"], "status": upload["status"]}
        body["url"] = f"/uploads/{upload['id']}"
        if upload["status"] == "awaiting_signature" and received.fields.get("public_key"):
            try:
                body["draft"] = upload_service.draft(account, upload, received.fields["public_key"])
            except SigningError as exc:
                body["error"] = str(exc)
                body["message"] = v.t(str(exc))
        return finish(JSONResponse(body), v)

    @app.post("/uploads/{upload_id}/signature")
    async def signature(request: Request, upload_id: str):
        v, account = signed_in(request)
        if not v.session.csrf_ok(request.headers.get("x-csrf-token")):
            raise _Forbidden
        upload = viewable(account, upload_id)
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > _MAX_FORM:
            return finish(JSONResponse({"error": "malformed"}, status_code=400), v)
        try:
            body = await request.json()
            done = upload_service.sign(account, upload, str(body.get("signature", "")))
        except (ValueError, AttributeError, SigningError) as exc:
            reason = str(exc) if isinstance(exc, SigningError) else "malformed"
            return finish(JSONResponse({"error": reason}, status_code=400), v)
        return finish(JSONResponse({"status": done["status"], "url": f"/uploads/{upload_id}"}), v)

    @app.get("/uploads/{upload_id}")
    async def upload_page(request: Request, upload_id: str):
        v, account = signed_in(request)
        upload = viewable(account, upload_id)
        rejects = None
        files_ready = False
        if upload["run_id"] and account.sees_rows(upload["department"], upload["branch"]):
            spec = upload_service.context().config.source(upload["source"])
            files = feedback_files(upload_service.data, spec, upload["run_id"], upload["branch"])
            rejects = read_rejects(files["csv"], spec.encoding_for_feedback)
            files_ready = rejects is not None
        return page(
            request,
            v,
            "upload.html",
            upload=upload,
            rejects=rejects.head(PAGE_ROWS) if rejects is not None else None,
            total_rejects=len(rejects) if rejects is not None else 0,
            page_rows=PAGE_ROWS,
            files_ready=files_ready,
            sees_rows=account.sees_rows(upload["department"], upload["branch"]),
        )

    @app.get("/uploads/{upload_id}/rejects.{kind}")
    async def download(request: Request, upload_id: str, kind: str):
        v, account = signed_in(request)
        upload = viewable(account, upload_id)
        if kind not in ("csv", "xlsx") or not upload["run_id"]:
            raise _NotFound
        if not account.sees_rows(upload["department"], upload["branch"]):
            raise _NotFound
        spec = upload_service.context().config.source(upload["source"])
        path = feedback_files(upload_service.data, spec, upload["run_id"], upload["branch"])[kind]
        if not path.is_file():
            raise _NotFound
        store.run(
            downloads.insert().values(
                account_id=account.id,
                upload_id=upload_id,
                format=kind,
                client=client_of(request)[:64],
                at=now(),
            )
        )
        log.info("portal download: account %s, upload %s, %s", account.id, upload_id, kind)
        parts = [upload["source"], upload["branch"] or "", "rejected"]
        media = (
            "text/csv"
            if kind == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response = FileResponse(
            path, media_type=media, filename="_".join(p for p in parts if p) + f".{kind}"
        )
        return finish(response, v)

    # -- the steward ------------------------------------------------------------------------

    def steward(request: Request) -> tuple[Visit, Account]:
        v, account = signed_in(request)
        if not account.is_steward:
            raise _NotFound
        return v, account

    @app.get("/steward")
    async def dashboard(request: Request):
        v, account = steward(request)
        rows = [upload_service.refresh(u) for u in upload_service.visible(account, 1000)]
        latest: dict[str, dict[str, Any]] = {}
        processed: dict[str, dict[str, Any]] = {}  # the latest that went through a run
        for row in rows:  # newest first
            latest.setdefault(row["department"], row)
            if row["rows_in"] is not None and row["rejected_rows"] is not None:
                processed.setdefault(row["department"], row)
        departments = sorted(
            {s.department for s in upload_service.context().config.sources if s.connector == "file"}
        )
        return page(
            request, v, "dashboard.html", departments=departments, latest=latest, done=processed
        )

    @app.get("/steward/accounts")
    async def account_page(request: Request, error: str = ""):
        v, _ = steward(request)
        return page(
            request,
            v,
            "accounts.html",
            accounts=accounts.all(),
            roles=ROLES,
            departments=sorted({s.department for s in upload_service.context().config.sources}),
            error=error[:200],
        )

    @app.post("/steward/accounts")
    async def create_account(request: Request):
        v, account = steward(request)
        form = await small_form(request, v)
        try:
            accounts.create(
                form.get("username", ""),
                form.get("role", ""),
                password=form.get("password") or None,
                department=form.get("department") or None,
                branch=form.get("branch") or None,
                created_by=account.username,
                departments={s.department for s in upload_service.context().config.sources},
            )
        except AccountError as exc:
            return page(
                request,
                v,
                "accounts.html",
                400,
                accounts=accounts.all(),
                roles=ROLES,
                departments=sorted({s.department for s in upload_service.context().config.sources}),
                error=str(exc),
            )
        return redirect(v, "/steward/accounts")

    @app.post("/steward/accounts/{account_id}/{action}")
    async def change_account(request: Request, account_id: int, action: str):
        v, me = steward(request)
        await small_form(request, v)
        target = accounts.get(account_id)
        if target is None or action not in ("disable", "enable") or target.id == me.id:
            raise _NotFound
        accounts.set_disabled(target.username, action == "disable")
        return redirect(v, "/steward/accounts")

    return app
