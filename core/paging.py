"""Lists shown a page at a time with a "show more" control: which page was asked for, and one page of a
list in memory or of a queryset (counted and sliced in the database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet

PAGE_SIZE = 25
MAX_PAGE = 100_000

T = TypeVar("T")


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list: its items, which page it is, and how many items the whole list holds."""

    items: list[T]
    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.size + 1

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1

    @property
    def left(self) -> int:
        """Items after this page."""
        return max(0, self.total - self.number * self.size)

    @property
    def next_number(self) -> int | None:
        return self.number + 1 if self.left else None


def page_number(value: str | None) -> int:
    """A `?…_page=` value as a page number: anything that is not a positive integer is the first page."""
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def page_of(items: list[T], number: int, size: int = PAGE_SIZE) -> ListPage[T]:
    """A page of a list already in memory (a page past the end is the last one)."""
    last = max(1, -(-len(items) // size))
    number = min(number, last)
    return ListPage(items[(number - 1) * size : number * size], number, len(items), size)


def queryset_page(queryset: QuerySet[Any], number: int, size: int = PAGE_SIZE) -> ListPage[Any]:
    """A page of a queryset: one COUNT and one sliced SELECT (a page past the end is the last one)."""
    total = queryset.count()
    number = min(number, max(1, -(-total // size)))
    start = (number - 1) * size
    return ListPage(list(queryset[start : start + size]), number, total, size)
