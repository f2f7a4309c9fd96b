"""FHIR's HTTP conventions: the base URL, JSON responses, ETag/Last-Modified/Location, Prefer, searches.

R4 http.html: reads carry ETag (W/"versionId") and Last-Modified; a create answers 201 with a Location
of the new version, and its body as `Prefer: return=` asks (representation by default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from radflow.adapters.fhir.bundle import searchset
from radflow.adapters.fhir.parsing import Issue, Refusal, operation_outcome
from radflow.adapters.fhir.search import SearchRequest
from radflow.adapters.fhir.vocabulary import FHIR_JSON
from radflow.bootstrap import Radflow
from radflow.services.bus import ServiceBus

MEDIA_TYPE = f"{FHIR_JSON}; charset=utf-8"


def fhir_bus(radflow: Radflow) -> ServiceBus:
    """The bus (the FHIR queries are wired by the composition root like every other handler)."""
    return radflow.bus


def base_url(request: Request) -> str:
    """The FHIR base as the client reached it ('http://host:port/fhir')."""
    return f"{str(request.base_url).rstrip('/')}/fhir"


def fhir_json(body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A FHIR JSON response (compact UTF-8, application/fhir+json)."""
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=MEDIA_TYPE, headers=dict(headers or {}))


def refused(refusal: Refusal) -> Response:
    """The OperationOutcome answer for a request refused before any service ran."""
    return fhir_json(operation_outcome(refusal.issues), refusal.status)


def version_headers(resource: Mapping[str, Any], last_modified: datetime | None = None) -> dict[str, str]:
    """ETag (and Last-Modified when the resource knows when it last changed)."""
    headers = {"ETag": f'W/"{resource["meta"]["versionId"]}"'}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
    return headers


def read_response(resource: Mapping[str, Any], last_modified: datetime | None = None) -> Response:
    """The answer to a read: the resource with its version headers."""
    return fhir_json(resource, headers=version_headers(resource, last_modified))


def created_response(request: Request, resource: Mapping[str, Any], last_modified: datetime | None = None,
                     *, status: int = 201) -> Response:
    """The answer to a create: Location of the new version, ETag, and the body `Prefer: return=` asks for."""
    location = (f"{base_url(request)}/{resource['resourceType']}/{resource['id']}"
                f"/_history/{resource['meta']['versionId']}")
    headers = {"Location": location, **version_headers(resource, last_modified)}
    preference = prefer(request).get("return", "representation")
    if preference == "minimal":
        return Response(status_code=status, headers=headers)
    if preference == "OperationOutcome":
        issue = Issue("informational", f"created {resource['resourceType']}/{resource['id']}",
                      severity="information")
        return fhir_json(operation_outcome([issue]), status, headers)
    return fhir_json(resource, status, headers)


def prefer(request: Request) -> dict[str, str]:
    """The Prefer header's preferences (RFC 7240), e.g. {'return': 'minimal', 'handling': 'strict'}."""
    found: dict[str, str] = {}
    for part in request.headers.get("prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            found[name.strip().lower()] = value.strip().strip('"')
    return found


def body_refusal(request: Request) -> Refusal | None:
    """A 415 refusal when the body is declared as something other than FHIR JSON (radflow speaks JSON only)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and not (content_type.endswith("json") or content_type.endswith("+json")):
        return Refusal(415, (Issue("not-supported", f"content type '{content_type}' is not supported: send "
                                                    f"{FHIR_JSON}"),))
    return None


def start_search(request: Request, radflow: Radflow, resource_type: str) -> SearchRequest:
    """Read the query string of a search on `resource_type` (dates without a zone in the center's zone)."""
    strict = prefer(request).get("handling") == "strict"
    return SearchRequest(resource_type, request.query_params.multi_items(), radflow.settings.zone, strict=strict)


def bundle_response(request: Request, search: SearchRequest, resources: Sequence[dict[str, Any]],
                    total: int) -> Response:
    """The searchset Bundle answering `search`."""
    return fhir_json(searchset(base_url(request), search.resource_type, resources, total, search.used,
                               search.page))
