"""The search interface every backend implements, and the data that crosses it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from markupsafe import Markup, escape

from farmgate.errors import FarmgateError, ValidationFailed
from farmgate.models import CertificationKind, StorageClass
from farmgate.models.product import CATEGORIES
from farmgate.search.vocabulary import Synonyms

SortOrder = Literal["relevance", "price_asc", "price_desc", "sales", "newest"]
SORT_ORDERS: tuple[str, ...] = get_args(SortOrder)
FACETS = ("category", "village_id", "cooperative_id", "certification", "storage_class", "in_stock")
MAX_PAGE_SIZE = 100
MAX_QUERY_LENGTH = 100
STOCK_LABELS = {True: "有货", False: "暂时缺货"}


class SearchError(ValidationFailed):
    code = "search_invalid"


class SearchUnavailable(FarmgateError):
    """The search server (Meilisearch) did not answer or refused; context has its code."""

    status = 503
    code = "search_unavailable"


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """One published product as the search engines see it (ids are product ids)."""

    id: int
    name: str
    description: str = ""
    category: str = "other"
    category_label: str = ""
    village_id: int = 0
    village_name: str = ""
    cooperative_id: int = 0
    cooperative_name: str = ""
    certifications: Sequence[str] = ()  # CertificationKind values
    storage_class: str = "ambient"
    in_stock: bool = True
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    sales: int = 0
    published_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    specs: Sequence[str] = ()  # SKU specs, e.g. "500g 袋装"
    unit: str = ""
    photo_url: str | None = None

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None:
            raise ValueError("published_at must be timezone-aware")
        object.__setattr__(self, "certifications", tuple(self.certifications))
        object.__setattr__(self, "specs", tuple(self.specs))
        if not self.category_label:
            object.__setattr__(self, "category_label", CATEGORIES.get(self.category, ""))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for storage in a table or a queue)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["certifications"] = list(self.certifications)
        data["specs"] = list(self.specs)
        data["published_at"] = self.published_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchDocument:
        values = dict(data)
        published = values.get("published_at")
        if isinstance(published, str):
            values["published_at"] = datetime.fromisoformat(published)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Exact-match filters; None means "any". Prices are in fen, against the lowest price."""

    category: str | None = None
    village_id: int | None = None
    cooperative_id: int | None = None
    certification: str | None = None
    storage_class: str | None = None
    in_stock: bool | None = None
    price_min_fen: int | None = None
    price_max_fen: int | None = None

    def matches(self, doc: SearchDocument) -> bool:
        """The reference semantics (the engines must agree with it)."""
        checks = (
            self.category is None or doc.category == self.category,
            self.village_id is None or doc.village_id == self.village_id,
            self.cooperative_id is None or doc.cooperative_id == self.cooperative_id,
            self.certification is None or self.certification in doc.certifications,
            self.storage_class is None or doc.storage_class == self.storage_class,
            self.in_stock is None or doc.in_stock == self.in_stock,
            self.price_min_fen is None
            or (doc.price_min_fen is not None and doc.price_min_fen >= self.price_min_fen),
            self.price_max_fen is None
            or (doc.price_min_fen is not None and doc.price_min_fen <= self.price_max_fen),
        )
        return all(checks)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    q: str = ""
    filters: SearchFilters = SearchFilters()
    sort: SortOrder = "relevance"
    page: int = 1
    page_size: int = 20

    def __post_init__(self) -> None:
        if self.sort not in SORT_ORDERS:
            raise SearchError("不支持的排序方式", fields={"sort": "不支持的排序方式"})
        if self.page < 1 or not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise SearchError("页码或每页数量超出范围", fields={"page": "页码或每页数量超出范围"})
        if len(self.q) > MAX_QUERY_LENGTH:
            object.__setattr__(self, "q", self.q[:MAX_QUERY_LENGTH])

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True, slots=True)
class Highlighted:
    """Text with the matched spans; a Jinja template renders it escaped, matches in <mark>."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> str:
        parts, pos = [], 0
        for start, end in self.spans:
            parts.append(escape(self.text[pos:start]))
            parts.append(Markup("<mark>%s</mark>") % self.text[start:end])
            pos = end
        parts.append(escape(self.text[pos:]))
        return str(Markup("").join(parts))

    def markup(self) -> Markup:
        return Markup(self.__html__())

    @property
    def marked(self) -> list[str]:
        return [self.text[s:e] for s, e in self.spans]


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    name: Highlighted
    snippet: Highlighted
    score: float
    document: SearchDocument


@dataclass(frozen=True, slots=True)
class PriceStats:
    min_fen: int
    max_fen: int


@dataclass(slots=True)
class SearchResult:
    """One page of results with facet counts over everything that matched.

    ``relaxed`` is set when no product matched every word and the engine fell back to
    products matching some of them (the page should say so); ``suggestions`` are queries
    worth trying when there were few or no results.
    """

    query: SearchQuery
    hits: list[SearchHit]
    total: int
    facets: dict[str, dict[Any, int]]
    facet_labels: dict[str, dict[Any, str]]
    price_stats: PriceStats | None = None
    suggestions: list[str] = field(default_factory=list)
    relaxed: bool = False
    took_ms: float = 0.0

    @property
    def ids(self) -> list[int]:
        return [hit.id for hit in self.hits]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.page_size))


def static_facet_label(facet: str, value: Any) -> str | None:
    """Labels for facets whose values are fixed codes (None for village and cooperative)."""
    if facet == "category":
        return CATEGORIES.get(value, str(value))
    if facet == "storage_class":
        return StorageClass.label_of(value)
    if facet == "certification":
        return CertificationKind.label_of(value)
    if facet == "in_stock":
        return STOCK_LABELS[bool(value)]
    return None


class SearchBackend(ABC):
    """A product search engine: feed it documents, ask it queries."""

    name: str = "backend"

    @abstractmethod
    def index(self, docs: Iterable[SearchDocument]) -> None:
        """Add or replace documents (by id)."""

    @abstractmethod
    def delete(self, ids: Iterable[int]) -> None:
        """Remove documents; unknown ids are ignored."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every document."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """One page of results, facets, price range and, when few match, suggestions."""

    @abstractmethod
    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Completions for the search box (Chinese, pinyin or initials prefixes)."""

    def set_synonyms(self, synonyms: Synonyms) -> None:  # noqa: B027 -- optional hook
        """Use the trade's vocabulary (synonyms and occasion words) from now on."""

    def ready(self) -> bool:
        """Whether the backend can answer queries now."""
        return True

    def stats(self) -> dict[str, Any]:
        """Figures for an admin page or a health check."""
        return {"backend": self.name}
