"""The response envelope every endpoint uses: {success, data, meta} or {success: false, error}."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from vtrack.db.repositories.paging import Page

T = TypeVar("T")


class ApiModel(BaseModel):
    """Responses speak camelCase (accessToken, pageSize); Python code keeps snake_case."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class PageMeta(ApiModel):
    page: int
    page_size: int
    total: int
    total_pages: int


class Envelope(ApiModel, Generic[T]):
    success: Literal[True] = True
    data: T


class PagedEnvelope(ApiModel, Generic[T]):
    success: Literal[True] = True
    data: list[T]
    meta: PageMeta


class ErrorBody(ApiModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(ApiModel):
    success: Literal[False] = False
    error: ErrorBody


def ok(data: T) -> Envelope[T]:
    return Envelope[T](data=data)


def paged(page: Page[Any], items: list[T]) -> PagedEnvelope[T]:
    return PagedEnvelope[T](
        data=items,
        meta=PageMeta(
            page=page.page, page_size=page.page_size, total=page.total, total_pages=page.total_pages
        ),
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries so clients (and schemathesis) know every error has the error envelope."""
    return {status: {"model": ErrorEnvelope} for status in statuses}
