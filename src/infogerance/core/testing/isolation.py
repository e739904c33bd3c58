"""The tenant-isolation walker.

It enumerates every URL pattern of the site and every operation of the API and calls each one
as an outsider (a user of another tenant) and as an anonymous visitor. Path parameters are
filled with the victim tenant's objects through :data:`PARAMETERS`; a pattern whose parameter
is not registered fails the walk, so a new endpoint is covered (or noticed) without anyone
remembering to add it. An answer fails the walk when it shows the victim's marker string, when
a lookup of a victim object answers anything but 404 (or 401/403 before authentication,
405 for a method the endpoint does not serve), or when the victim's rows changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core import serializers
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# name of a URL or API path parameter -> function(world) returning the victim's value
PARAMETERS: dict[str, Callable[[Any], Any]] = {}
# Parameters that are credentials rather than object lookups (a password-reset token): the
# walk passes a wrong one, and only checks that nothing leaks and nothing changes.
CAPABILITIES: set[str] = set()

# Models whose rows are not tenant data (append-only logs, sessions, throttling, queues).
UNWATCHED = {
    "audit.auditevent",
    "sessions.session",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "django_tasks_db.dbtaskresult",
    "core.scheduledoccurrence",
    "contenttypes.contenttype",
    "auth.permission",
}
# Fields that change as a side effect of any visit and carry no tenant data.
VOLATILE_FIELDS = {"last_login", "last_used_at", "updated_at"}

OK_ANONYMOUS = {302, 401, 403, 404, 405}


def register(name: str, resolver: Callable[[Any], Any], *, capability: bool = False) -> None:
    PARAMETERS[name] = resolver
    if capability:
        CAPABILITIES.add(name)


def value(name: str, world: Any) -> Any:
    """The victim's value for a parameter, computed once per world."""
    cache = world.__dict__.setdefault("_walker_values", {})
    if name not in cache:
        if name not in PARAMETERS:
            raise AssertionError(
                f"parameter <{name}> has no victim value: register one with "
                "infogerance.core.testing.isolation.register()"
            )
        cache[name] = PARAMETERS[name](world)
    return cache[name]


@dataclass(frozen=True)
class Route:
    pattern: str  # e.g. "organizations/<id:org_id>/"
    name: str
    params: tuple[str, ...]


_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def iter_routes(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[Route]:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        text = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from iter_routes(entry, prefix + text)
        elif isinstance(entry, URLPattern):
            full = prefix + text
            yield Route(full, entry.name or "", tuple(m["name"] for m in _PARAM.finditer(full)))


def fill(pattern: str, world: Any) -> str:
    def sub(match: re.Match[str]) -> str:
        return str(value(match["name"], world))

    return "/" + _PARAM.sub(sub, pattern).lstrip("^").rstrip("$")


def victim_rows(world: Any) -> Iterator[tuple[str, Any]]:
    """Every row that belongs to the victim: tenant-owned rows of the victim organisation,
    its members' accounts, and rows owned by those accounts (tokens, devices…)."""
    from django.conf import settings

    from infogerance.core.models import Scope
    from infogerance.tenancy.models import Membership

    scope = Scope(org_ids=frozenset({world.victim.pk}))
    member_ids = set(
        Membership.objects.filter(organization=world.victim).values_list("user_id", flat=True)
    )
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label_lower):
        label = model._meta.label_lower
        if label in UNWATCHED:
            continue
        manager = model._default_manager
        if model is user_model:
            yield label, manager.filter(pk__in=member_ids)
        elif hasattr(model, "TENANT_ORG_FIELD"):
            yield (
                label,
                manager.filter(
                    scope.q(model.TENANT_ORG_FIELD, model.TENANT_PROVIDER_FIELD)  # type: ignore[attr-defined]
                ),
            )
        else:
            user_fks = [
                f.name
                for f in model._meta.concrete_fields
                if f.is_relation and f.related_model is user_model
            ]
            for name in user_fks:
                yield f"{label}.{name}", manager.filter(**{f"{name}__in": member_ids})


def victim_digest(world: Any) -> str:
    """A digest of the victim's rows (to prove that outsiders changed nothing)."""
    digest = hashlib.sha256()
    for label, queryset in victim_rows(world):
        rows = json.loads(serializers.serialize("json", queryset.order_by("pk")))
        for row in rows:
            for name in VOLATILE_FIELDS:
                row["fields"].pop(name, None)
        digest.update(label.encode())
        digest.update(json.dumps(rows, sort_keys=True).encode())
    return digest.hexdigest()


def prepare(world: Any) -> None:
    """Resolve every registered victim value before the first digest."""
    for name in PARAMETERS:
        value(name, world)


@dataclass
class Finding:
    who: str
    method: str
    url: str
    status: int
    problem: str

    def __str__(self) -> str:
        return f"{self.who} {self.method} {self.url} -> {self.status}: {self.problem}"


@dataclass
class WalkResult:
    findings: list[Finding] = field(default_factory=list)
    calls: int = 0
    covered: set[str] = field(default_factory=set)


def _body_text(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def check_response(
    result: WalkResult,
    who: str,
    method: str,
    url: str,
    response: Any,
    marker: str,
    has_victim_param: bool,
    anonymous: bool,
    allowed: frozenset[int] = frozenset({404, 405}),
) -> None:
    result.calls += 1
    status = response.status_code
    body = _body_text(response)
    if marker in body or marker.lower() in body.lower():
        result.findings.append(Finding(who, method, url, status, "shows the victim's data"))
    if status >= 500:
        result.findings.append(Finding(who, method, url, status, "server error"))
    if anonymous and status in (200, 201, 204) and has_victim_param:
        result.findings.append(Finding(who, method, url, status, "anonymous access succeeded"))
    if not anonymous and has_victim_param and status not in allowed:
        location = response.get("Location", "")
        if not (status == 302 and "/login/" in location):
            result.findings.append(
                Finding(who, method, url, status, "a victim object must answer 404")
            )


def walk_urls(
    world: Any,
    outsiders: dict[str, Any],
    *,
    marker: str,
    skip: Callable[[Route], bool] = lambda r: False,
) -> WalkResult:
    """Every URL pattern, GET and POST, as each outsider and anonymously."""
    result = WalkResult()
    prepare(world)
    before = victim_digest(world)
    for route in iter_routes():
        if route.pattern.startswith("api/v1/") or skip(route):
            continue
        url = fill(route.pattern, world)
        result.covered.add(route.pattern)
        has_param = any(p not in CAPABILITIES for p in route.params)
        for method in ("get", "post"):
            anonymous = Client()
            check_response(
                result,
                "anonymous",
                method.upper(),
                url,
                getattr(anonymous, method)(url),
                marker,
                has_param,
                True,
            )
            for who, user in outsiders.items():
                client = Client()
                client.force_login(user)
                check_response(
                    result,
                    who,
                    method.upper(),
                    url,
                    getattr(client, method)(url),
                    marker,
                    has_param,
                    False,
                )
    if victim_digest(world) != before:
        result.findings.append(Finding("outsiders", "*", "*", 0, "the victim's rows changed"))
    return result


def _sample(schema: dict[str, Any], components: dict[str, Any], name: str, world: Any) -> Any:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _sample(options[0], components, name, world) if options else None
    kind = schema.get("type")
    if name in PARAMETERS:
        target = value(name, world)
        # A body field named like a parameter points at the victim's object, unless it is
        # text where the parameter is a number (a backup repository's restic id is not its
        # platform id): then it is just text.
        if not (kind == "string" and not isinstance(target, str)):
            return target
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _sample(v, components, k, world) for k, v in props.items()}
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if schema.get("format") == "date-time":
        return "2026-01-05T09:00:00+01:00"
    if schema.get("format") == "date":
        return "2026-01-05"
    if schema.get("format") == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    if name == "email":
        return "walker@example.org"
    if name == "country":
        return "FR"
    return "walker"


def walk_api(
    world: Any,
    outsiders: dict[str, str],
    *,
    marker: str,
    schema: dict[str, Any],
    prefix: str = "/api/v1",
) -> WalkResult:
    """Every operation of the OpenAPI schema, with each outsider's token and anonymously.

    Bodies are generated from the schema, with every ``*_id`` field pointing at the victim,
    so a write that trusts an id from the body is caught too.
    """
    result = WalkResult()
    components = schema.get("components", {}).get("schemas", {})
    prepare(world)
    before = victim_digest(world)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            params = re.findall(r"{([^}]+)}", path)
            url = re.sub(r"{([^}]+)}", lambda m: str(fill(f"<{m[1]}>", world)).lstrip("/"), path)
            url = url if url.startswith(prefix) else prefix + url
            # Required query parameters are filled too, so that the call reaches the lookup.
            query = {
                p["name"]: _sample(p.get("schema", {}), components, p["name"], world)
                for p in operation.get("parameters", [])
                if p.get("in") == "query" and p.get("required")
            }
            if query:
                from urllib.parse import urlencode

                url = f"{url}?{urlencode(query)}"
            body: Any = None
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = _sample(content["application/json"]["schema"], components, "", world)
            references_victim = bool(params) or (
                isinstance(body, dict) and any(k.endswith("_id") for k in body)
            )
            # A body the schema refuses (422) reveals nothing; a path lookup must be 404.
            allowed = frozenset({404, 405} if params else {404, 405, 422})
            result.covered.add(f"{method.upper()} {path}")
            kwargs: dict[str, Any] = {}
            if body is not None:
                kwargs = {"data": json.dumps(body), "content_type": "application/json"}
            check_response(
                result,
                "anonymous",
                method.upper(),
                url,
                getattr(Client(), method)(url, **kwargs),
                marker,
                references_victim,
                True,
            )
            for who, token in outsiders.items():
                client = Client(headers={"Authorization": f"Bearer {token}"})
                check_response(
                    result,
                    who,
                    method.upper(),
                    url,
                    getattr(client, method)(url, **kwargs),
                    marker,
                    references_victim,
                    False,
                    allowed,
                )
    if victim_digest(world) != before:
        result.findings.append(Finding("outsiders", "*", "*", 0, "the victim's rows changed"))
    return result
