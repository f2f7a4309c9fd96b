"""Search results as an R4 `searchset` Bundle with its total and paging links (R4 http.html#3.1.0.8)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from radflow.adapters.fhir.search import Page


def _link(base: str, resource_type: str, used: Sequence[tuple[str, str]], count: int, offset: int) -> str:
    query = urlencode([*used, ("_count", str(count)), ("_offset", str(offset))])
    return f"{base}/{resource_type}?{query}"


def searchset(base: str, resource_type: str, resources: Sequence[dict[str, Any]], total: int,
              used: Sequence[tuple[str, str]], page: Page) -> dict[str, Any]:
    """A searchset Bundle: `total` matches, this page's resources, and self/first/previous/next links."""
    links = [{"relation": "self", "url": _link(base, resource_type, used, page.count, page.offset)}]
    if page.count:
        links.append({"relation": "first", "url": _link(base, resource_type, used, page.count, 0)})
        if page.offset > 0:
            previous = max(page.offset - page.count, 0)
            links.append({"relation": "previous", "url": _link(base, resource_type, used, page.count, previous)})
        if page.offset + page.count < total:
            links.append({"relation": "next",
                          "url": _link(base, resource_type, used, page.count, page.offset + page.count)})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
    if resources:
        bundle["entry"] = [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                            "search": {"mode": "match"}} for r in resources]
    return bundle
