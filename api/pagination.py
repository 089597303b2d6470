"""Pages of 50 like the review pages (`?page=2`), up to IAMREVIEW_API_MAX_PAGE_SIZE with `?page_size=`.
A listing built by a selector also reports the filters it applied and those it ignored, and why."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from findings.figures_cache import CachedCountPaginator


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    django_paginator_class = CachedCountPaginator

    @property
    def max_page_size(self) -> int:  # type: ignore[override]
        return int(settings.IAMREVIEW_API_MAX_PAGE_SIZE)

    def get_paginated_response(self, data: Any) -> Response:
        listing = getattr(self, "listing", None)
        return Response(
            {
                "count": self.page.paginator.count if self.page is not None else 0,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "filters": listing.filters if listing else {},
                "problems": listing.problems if listing else [],
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        base = super().get_paginated_response_schema(schema)
        base["properties"]["filters"] = {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "the filters applied",
        }
        base["properties"]["problems"] = {
            "type": "array",
            "items": {"type": "string"},
            "description": "filters given but ignored, each with why",
        }
        return base
