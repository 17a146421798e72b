"""The HTTP API (FastAPI on Starlette, served by uvicorn).

Why FastAPI: the request and response bodies are pydantic models, so the OpenAPI document the data actions'
contracts are checked against is generated from the same code that validates requests, and schemathesis
can fuzz the API from it. Endpoints are synchronous (the stores are synchronous drivers) and run in the
server's thread pool; the work per request is one short transaction.

Order of checks on every /v1 request: size limit, then the caller's credential (constant-time compare) and
whether that caller may use the route, then duplicate JSON keys, then body validation, then the unit of work. A
request without the credential is refused before its body is read.

Two callers, two credentials (the trust model): Genesys data actions (``STITCHING_API_TOKEN``) use every /v1
route except enrollment; the customer's own systems (``STITCHING_ENROLLMENT_TOKEN``) use only
``POST /v1/enrollments`` and can read nothing. A known credential on the other caller's route gets 403.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, request_response

from stitching.api import schemas
from stitching.config import ServiceSettings
from stitching.errors import Conflict, InvalidRequest, NotFound, StoreUnavailable
from stitching.journey import JourneyReader
from stitching.metrics import Metrics
from stitching.service import EnrollRequest, RecordRequest, Reply, StitchingService, StitchRequest, new_id
from stitching.store.engine import Store, now_ms

log = logging.getLogger("stitching.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Data actions render an absent key as an empty header: empty means "no key".
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128, pattern=r"^[A-Za-z0-9._:-]*$")]
RequiredIdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=128,
                                               pattern=r"^[A-Za-z0-9._:-]+$")]
ENROLLMENT_PATH = "/v1/enrollments"


def create_app(settings: ServiceSettings, *, store: Store | None = None, clock: Callable[[], int] = now_ms,
               journey_reader: JourneyReader | None = None, run_mirror: bool = True) -> FastAPI:
    metrics = Metrics()
    owned_store = store is None
    the_store = store or Store(settings.database_url, settings.pool_size, settings.busy_timeout_s)
    service = StitchingService(the_store, settings, metrics, clock, journey_reader)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        mirror = None
        if settings.genesys is not None and run_mirror:
            from stitching.genesys_mirror import MirrorWorker

            mirror = MirrorWorker.from_settings(the_store, settings.genesys, metrics)
            mirror.start()
        try:
            yield
        finally:
            if mirror is not None:
                mirror.stop()
            if owned_store:
                the_store.close()

    app = FastAPI(
        title="Identity stitching service",
        version="1.0.0",
        description="Links a customer's identifiers into one profile for Genesys Cloud data actions.",
        lifespan=lifespan,
        responses={401: {"model": schemas.ErrorResponse}, 403: {"model": schemas.ErrorResponse},
                   413: {"model": schemas.ErrorResponse}, 422: {"model": schemas.ErrorResponse},
                   503: {"model": schemas.ErrorResponse}},
    )
    app.state.service = service
    app.state.metrics = metrics
    _install_error_handlers(app, metrics)

    @app.post("/v1/stitch", response_model=schemas.StitchResponse, tags=["identity"])
    def stitch(body: schemas.StitchBody, request: Request, idempotency_key: IdempotencyKey = None) -> Response:
        req = StitchRequest(
            channel=body.channel, conversation_id=body.conversationId, oidc_issuer=body.oidcIssuer,
            oidc_subject=body.oidcSubject, oidc_verified=body.oidcVerified, crm_id=body.crmId,
            crm_id_verified=body.crmIdVerified, phone=body.phone, phone_verified=body.phoneVerified, email=body.email,
            email_verified=body.emailVerified, web_session_id=body.webSessionId, last_name=body.lastName,
            date_of_birth=body.dateOfBirth, occurred_at=_ms(body.occurredAt),
        )
        return _reply(service.stitch(req, idempotency_key, _request_id(request)))

    def stitch_valid_key(body: schemas.StitchBody, request: Request) -> Response:
        return stitch(body, request, request.headers.get("idempotency-key"))

    _skip_valid_header_check(app, "/v1/stitch", stitch_valid_key)

    @app.post(ENROLLMENT_PATH, response_model=schemas.EnrollResponse, tags=["enrollment"])
    def enroll(body: schemas.EnrollBody, request: Request, idempotency_key: RequiredIdempotencyKey) -> Response:
        """The customer's own systems (website backend after login, CRM sync) register verified identifiers for an
        anchor. Only the enrollment credential may call it; the same Idempotency-Key makes a retry harmless."""
        req = EnrollRequest(
            source=body.source, oidc_issuer=body.anchor.oidcIssuer, oidc_subject=body.anchor.oidcSubject,
            anchor_crm_id=body.anchor.crmId, crm_id=body.crmId, phone=body.phone, email=body.email,
            last_name=body.lastName, date_of_birth=body.dateOfBirth, occurred_at=_ms(body.occurredAt),
        )
        return _reply(service.enroll(req, idempotency_key, _request_id(request)))

    @app.get("/v1/context", response_model=schemas.ContextResponse, tags=["routing"])
    def context(
        request: Request,
        phone: Annotated[str | None, Query(max_length=64)] = None,
        profileId: Annotated[str | None, Query(max_length=128)] = None,
        windowMinutes: Annotated[int | None, Query(ge=1, le=7 * 24 * 60)] = None,
        asOf: Annotated[str | None, Query(max_length=40)] = None,
        excludeConversationId: Annotated[str | None, Query(max_length=128)] = None,
    ) -> Response:
        for name in request.query_params:
            if len(request.query_params.getlist(name)) > 1:  # never "last one wins", as for JSON keys
                raise InvalidRequest(name[:64], "given more than once")
        return _reply(service.context(
            phone=phone or None, profile_id=profileId or None, window_s=windowMinutes * 60 if windowMinutes else None,
            as_of=_ms(_datetime(asOf, "asOf"), "asOf"), exclude_conversation_id=excludeConversationId or None,
        ))

    @app.post("/v1/interactions", response_model=schemas.RecordResponse, tags=["routing"])
    def record(body: schemas.RecordBody, request: Request, idempotency_key: IdempotencyKey = None) -> Response:
        req = RecordRequest(body.conversationId, body.agentId, body.queueId, body.topic, body.wrapupCode,
                            _ms(body.occurredAt))
        return _reply(service.record(req, idempotency_key, _request_id(request)))

    @app.post("/v1/sessions/end", response_model=schemas.EndSessionResponse, tags=["identity"])
    def end_session(body: schemas.EndSessionBody, request: Request, idempotency_key: IdempotencyKey = None) -> Response:
        return _reply(service.end_session(body.webSessionId, body.reason, _ms(body.occurredAt), idempotency_key,
                                          _request_id(request)))

    @app.post("/v1/merges/{merge_id}/undo", response_model=schemas.UnmergeResponse, tags=["repair"])
    def unmerge(merge_id: str, body: schemas.UnmergeBody, request: Request,
                idempotency_key: IdempotencyKey = None) -> Response:
        return _reply(service.unmerge(merge_id, body.note, idempotency_key, _request_id(request)))

    @app.post("/v1/links/unlink", response_model=schemas.UnlinkResponse, tags=["repair"])
    def unlink(body: schemas.UnlinkBody, request: Request, idempotency_key: IdempotencyKey = None) -> Response:
        return _reply(service.unlink(body.type, body.value, body.note, idempotency_key, _request_id(request)))

    @app.get("/v1/profiles/{profile_id}", tags=["repair"])
    def profile(profile_id: str) -> dict[str, Any]:
        return service.profile(profile_id)

    @app.get("/v1/profiles/{profile_id}/audit", tags=["repair"])
    def audit(profile_id: str, limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict[str, Any]:
        return service.audit_trail(profile_id, limit)

    @app.post("/v1/noop", tags=["operations"])
    def noop() -> dict[str, bool]:
        """Authenticated and routed like every other call, does no work: the benchmarks' baseline."""
        return {"ok": True}

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> Response:
        try:
            version = the_store.ping()
        except StoreUnavailable:
            metrics.ready.set(0)
            return JSONResponse({"status": "unavailable", "reason": "database"}, status_code=503)
        if version < the_store.head:
            metrics.ready.set(0)
            return JSONResponse({"status": "unavailable", "reason": f"schema at {version}, expected {the_store.head}"},
                                status_code=503)
        metrics.ready.set(1)
        return JSONResponse({"status": "ready", "schema": version})

    @app.get("/metrics", tags=["operations"])
    def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    guarded: ASGIApp = _Guard(app, settings, metrics)
    app.state.asgi = guarded
    return app


# What IdempotencyKey's checks (pattern and max_length) accept for certain: those values skip FastAPI's check.
_VALID_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{0,128}")


def _skip_valid_header_check(app: FastAPI, path: str, endpoint: Callable[..., Response]) -> None:
    """The route at ``path`` (declared with an ``IdempotencyKey`` header parameter) answers a request whose header
    is absent or certainly valid through ``endpoint``, the same endpoint without the parameter (it reads the header
    itself): FastAPI's per-request solving of a header parameter is a measurable share of a stitch's own CPU.

    Any other header value goes through the declared endpoint, so FastAPI checks it as before: the same 422 (field,
    message, and its precedence after a malformed JSON body and before the body's own errors). The route object
    itself (path, parameters, OpenAPI operation, metrics label) is unchanged."""
    route = next(r for r in app.router.routes if isinstance(r, APIRoute) and r.path == path)
    declared = route.get_route_handler()
    without_header = APIRoute(
        route.path, endpoint, methods=sorted(route.methods or ()), response_model=route.response_model,
        status_code=route.status_code, response_class=route.response_class,
        response_model_include=route.response_model_include, response_model_exclude=route.response_model_exclude,
        response_model_by_alias=route.response_model_by_alias,
        response_model_exclude_unset=route.response_model_exclude_unset,
        response_model_exclude_defaults=route.response_model_exclude_defaults,
        response_model_exclude_none=route.response_model_exclude_none,
        dependency_overrides_provider=route.dependency_overrides_provider,
        strict_content_type=route.strict_content_type, include_in_schema=False,
    ).get_route_handler()

    async def handler(request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        if key is None or _VALID_IDEMPOTENCY_KEY.fullmatch(key):
            return await without_header(request)
        return await declared(request)

    route.app = request_response(handler)


def asgi(settings: ServiceSettings, **kwargs: Any) -> ASGIApp:
    """The app wrapped in its guard (size limit, credential, request metrics): what servers and tests run."""
    app = create_app(settings, **kwargs)
    guarded: ASGIApp = app.state.asgi
    return guarded


class _Guard:
    """Pure ASGI middleware: request id, metrics, body size limit, caller authentication for /v1."""

    def __init__(self, app: FastAPI, settings: ServiceSettings, metrics: Metrics) -> None:
        self.app = app
        self.state = app.state
        self.metrics = metrics
        self.max_body = settings.max_body_bytes
        user, secret = settings.credential.user, settings.credential.secret
        self._bearer = f"Bearer {secret}".encode()
        self._basic = ("Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()).encode()
        # Without an enrollment credential nothing matches it (a random value no caller can know).
        enrollment = settings.enrollment_token or base64.b64encode(uuid.uuid4().bytes * 2).decode()
        self._enrollment = f"Bearer {enrollment}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or new_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        try:
            refusal = self._refuse(scope, headers)
            if refusal is not None:
                await refusal(scope, receive, send_with_status)
                return
            buffered = await self._read_body(receive, scope)
            if buffered is None:
                await _error(413, "too_large", f"request body over {self.max_body} bytes")(scope, receive, send_with_status)
                return
            duplicate = self._duplicate_key(scope)
            if duplicate is not None:
                await _error(422, "invalid_request", f"{duplicate}: given twice in the JSON body", duplicate)(
                    scope, receive, send_with_status)
                return
            await self.app(scope, buffered, send_with_status)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", "unmatched")
            self.metrics.child(self.metrics.requests, label, str(status_holder["status"])).inc()
            self.metrics.child(self.metrics.latency, label).observe(time.perf_counter() - started)

    def _refuse(self, scope: Scope, headers: dict[bytes, bytes]) -> Response | None:
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return _error(413, "too_large", f"request body over {self.max_body} bytes")
        path = str(scope.get("path", ""))
        if path.startswith("/v1/"):
            given = headers.get(b"authorization", b"")
            ok_bearer = hmac.compare_digest(given, self._bearer)
            ok_basic = hmac.compare_digest(given, self._basic)
            ok_enrollment = hmac.compare_digest(given, self._enrollment)
            data_action = ok_bearer or ok_basic
            if not (data_action or ok_enrollment):
                response = _error(401, "unauthorized", "missing or wrong credential")
                response.headers["WWW-Authenticate"] = 'Bearer realm="stitching", Basic realm="stitching"'
                return response
            wants_enrollment = path.rstrip("/") == ENROLLMENT_PATH
            if wants_enrollment and not ok_enrollment:
                return _error(403, "forbidden", "the data actions' credential cannot enroll identifiers")
            if not wants_enrollment and not data_action:
                return _error(403, "forbidden", "the enrollment credential can only call POST /v1/enrollments")
        return None

    def _duplicate_key(self, scope: Scope) -> str | None:
        """The first key given twice in a /v1 JSON body (refused: never "last one wins"); None when none is."""
        body = scope.get("state", {}).get("body")
        if not body or not str(scope.get("path", "")).startswith("/v1/"):
            return None
        try:
            json.loads(body, object_pairs_hook=_refuse_duplicates)
        except _DuplicateKey as exc:
            return exc.key
        except ValueError:
            return None  # not JSON: the app answers 422 for it
        return None

    async def _read_body(self, receive: Receive, scope: Scope | None = None) -> Receive | None:
        """The whole body, read before the app sees it (bodies are small); None when it is over the limit, also
        for chunked bodies that declared no length."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False
        if scope is not None:
            scope.setdefault("state", {})["body"] = body

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key[:64])
        seen[key] = value
    return seen


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def _install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
        # The input value is never echoed: it may be a phone number, an email or a pasted secret.
        return _error(422, "invalid_request", f"{'.'.join(loc) or 'body'}: {first.get('msg')}", ".".join(loc) or None)

    @app.exception_handler(InvalidRequest)
    async def invalid_content(_: Request, exc: InvalidRequest) -> JSONResponse:
        return _error(422, "invalid_request", str(exc), exc.field)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return _error(409, "conflict", str(exc))

    @app.exception_handler(StoreUnavailable)
    async def unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        metrics.store_unavailable.inc()
        log.warning("database unavailable: %s", exc)
        response = _error(503, "unavailable", "the database is unavailable; retry")
        response.headers["Retry-After"] = "1"
        return response


def _reply(reply: Reply) -> Response:
    # The bytes the service already serialized for its idempotency record are what JSONResponse would render.
    response = (JSONResponse(reply.body) if reply.encoded is None
                else Response(reply.encoded, media_type=JSONResponse.media_type))
    if reply.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def _datetime(value: str | None, field: str) -> datetime | None:
    """A query parameter's ISO 8601 time; empty means not given (data actions render absent inputs so)."""
    if value is None or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(field, "expected an ISO 8601 time such as 2026-11-21T10:00:00Z") from None


def _ms(value: datetime | None, field: str = "occurredAt") -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidRequest(field, "needs a time zone (e.g. 2026-11-21T10:00:00Z)")
    return int(value.timestamp() * 1000)
