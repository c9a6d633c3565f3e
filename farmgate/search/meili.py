"""The Meilisearch backend, through the official client.

``configure()`` creates the index and applies every setting (searchable, filterable and
sortable attributes, ranking rules, the township dictionary, Chinese ``localizedAttributes``)
and waits for Meilisearch to finish. Meilisearch segments Chinese itself but only matches
whole words (简单 does not find 安装简单), knows no pinyin and folds no 克 into g, so each
document carries extra searchable fields computed by the shared analysis: sub-word terms,
full pinyin and initials of the name and of its village and cooperative, canonical
quantities. Queries are normalised the same way. Highlights come from the shared
highlighter (which also marks pinyin and initials matches), joined with Meilisearch's own
``_formatted`` marks.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

import meilisearch
from meilisearch.errors import MeilisearchError

from farmgate.models import CertificationKind, StorageClass
from farmgate.search import analysis as an
from farmgate.search.backend import (
    FACETS,
    Highlighted,
    PriceStats,
    SearchBackend,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    static_facet_label,
)
from farmgate.search.vocabulary import Synonyms, from_file

PRICE_NONE_ASC = 10**12  # sorts products without a price after every priced one
PRE, POST = "\ue000", "\ue001"  # highlight tags that cannot occur in product text
_MARK_RE = re.compile(f"{PRE}(.*?){POST}", re.S)
DOCUMENT_FIELDS = [f.name for f in fields(SearchDocument)]
SEARCHABLE = [
    "name",
    "name_norm",
    "name_terms",
    "name_pinyin",
    "spec_terms",
    "place_terms",
    "place_pinyin",
    "description_norm",
]
CHINESE_FIELDS = ["name", "name_norm", "name_terms", "spec_terms", "place_terms"]
FACET_FIELDS = {
    "category": "category",
    "village_id": "village_facet",
    "cooperative_id": "cooperative_facet",
    "certification": "certifications",
    "storage_class": "storage_class",
    "in_stock": "in_stock",
}
SORTS = {
    "price_asc": ["price_asc:asc", "sales:desc"],
    "price_desc": ["price_desc:desc", "sales:desc"],
    "sales": ["sales:desc"],
    "newest": ["published_ts:desc"],
}


def settings(synonyms: Synonyms | None = None) -> dict[str, Any]:
    """Every index setting, in one place (``synonyms``: the trade's vocabulary, by default the
    shipped file; the service passes the one with the admin's overrides)."""
    return {
        "searchableAttributes": SEARCHABLE,
        "displayedAttributes": ["*"],
        "filterableAttributes": [
            "id",
            "category",
            "village_id",
            "cooperative_id",
            "certifications",
            "storage_class",
            "in_stock",
            "price_min_fen",
            "price_max_fen",
            "village_facet",
            "cooperative_facet",
        ],
        "sortableAttributes": ["price_asc", "price_desc", "sales", "published_ts"],
        # "sort" first: an explicit sort orders strictly; without one it does nothing.
        "rankingRules": [
            "sort",
            "words",
            "typo",
            "proximity",
            "attribute",
            "exactness",
            "sales:desc",
        ],
        "dictionary": dictionary_words(synonyms or from_file()),
        # One-way: 稻米 finds 香米, 香米 does not find every 稻米 product.
        "synonyms": (synonyms or from_file()).meili(),
        "localizedAttributes": [{"attributePatterns": CHINESE_FIELDS, "locales": ["cmn"]}],
        "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9}},
        "faceting": {"maxValuesPerFacet": 200},
        "pagination": {"maxTotalHits": 10_000},
    }


def dictionary_words(synonyms: Synonyms) -> list[str]:
    """The township dictionary plus the vocabulary's Chinese words, so Meilisearch segments
    a typed 年货 or 稻米 as the word its synonyms are keyed by."""
    words = {entry.word for entry in an.dictionary()}
    for word, found in synonyms.entries.items():
        words.update(w for w in (word, *found) if an.HAN_RE.fullmatch(w))
    return sorted(words)


def to_meili(doc: SearchDocument) -> dict[str, Any]:
    """A document as stored in Meilisearch: ours plus the computed search fields."""
    body = doc.to_dict()
    name = an.normalize(doc.name)
    terms = an.field_terms(name)
    place_labels = [
        doc.village_name,
        doc.cooperative_name,
        doc.category_label,
        StorageClass.labels().get(doc.storage_class, ""),
        *(CertificationKind.label_of(c) for c in doc.certifications),
    ]
    place = [an.field_terms(an.normalize(label)) for label in place_labels if label]
    specs = [an.field_terms(an.normalize(s), 4) for s in (*doc.specs, doc.unit) if s]
    body.update(
        name_norm=name,
        name_terms=_join(terms.words | {s for s in terms.subwords if len(s) >= 2}),
        name_pinyin=_join(terms.pinyin | terms.initials | terms.latin),
        spec_terms=_join(set().union(*(t.subwords | t.latin for t in specs)) if specs else set()),
        place_terms=_join(set().union(*(t.words | t.subwords for t in place)) if place else set()),
        place_pinyin=_join(
            set().union(*(t.pinyin | t.initials for t in place)) if place else set()
        ),
        description_norm=an.normalize(doc.description),
        price_asc=PRICE_NONE_ASC if doc.price_min_fen is None else doc.price_min_fen,
        price_desc=-1 if doc.price_min_fen is None else doc.price_min_fen,
        published_ts=int(doc.published_at.timestamp()),
        village_facet=f"{doc.village_id}|{doc.village_name}",
        cooperative_facet=f"{doc.cooperative_id}|{doc.cooperative_name}",
    )
    return body


def _join(terms: set[str] | frozenset[str]) -> str:
    return " ".join(sorted(terms))


def query_text(q: str) -> tuple[str, an.HighlightTerms]:
    """The query as sent to Meilisearch (normalised, quantities canonical) and what to mark."""
    norm = an.normalize(q)
    parts: list[str] = []
    hl = an.HighlightTerms.empty()
    toks = an.tokens(norm)
    for tok in toks:
        if tok.text not in parts:  # a repeated word is one condition, as in the embedded engine
            parts.append(tok.text)
        if tok.kind == "han":
            hl.han.add(tok.text)
            hl.han.update(w for w in an.segment(tok.text) if len(w) >= 2)
        else:
            hl.latin.add(tok.text)
            if tok.kind == "latin":
                hl.pinyin.add(tok.text)
                hl.pinyin_prefix.add(tok.text)
    latin = [t.text for t in toks if t.kind == "latin"]
    if len(latin) > 1:
        hl.pinyin.add("".join(latin))  # "la jiao" spells 辣椒
    return " ".join(parts), hl


def _filters(query: SearchQuery) -> list[str]:
    f = query.filters
    out = []
    for name in ("category", "storage_class"):
        value = getattr(f, name)
        if value is not None:
            out.append(f"{name} = {_quote(value)}")
    for name in ("village_id", "cooperative_id"):
        value = getattr(f, name)
        if value is not None:
            out.append(f"{name} = {int(value)}")
    if f.certification is not None:
        out.append(f"certifications = {_quote(f.certification)}")
    if f.in_stock is not None:
        out.append(f"in_stock = {'true' if f.in_stock else 'false'}")
    if f.price_min_fen is not None:
        out.append(f"price_min_fen >= {int(f.price_min_fen)}")
    if f.price_max_fen is not None:
        out.append(f"price_min_fen <= {int(f.price_max_fen)}")
    return out


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MeiliBackend(SearchBackend):
    """``MeiliBackend(url, api_key, index_uid)``, then ``configure()`` once at start-up."""

    name = "meilisearch"
    BATCH = 5_000

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        index_uid: str = "products",
        *,
        timeout_s: int = 10,
        task_timeout_ms: int = 120_000,
        client: meilisearch.Client | None = None,
    ) -> None:
        self.client = client or meilisearch.Client(url, api_key, timeout=timeout_s)
        self.uid = index_uid
        self.task_timeout_ms = task_timeout_ms
        self._seen: Counter[str] = Counter()  # words of indexed names, for "did you mean"
        self._vocab: an.Vocabulary | None = None
        self.synonyms: Synonyms = from_file()

    @property
    def _index(self) -> Any:
        return self.client.index(self.uid)

    # --- administration -------------------------------------------------------------------

    def configure(self) -> None:
        """Create the index if needed and apply the settings; returns when they are live."""
        with _errors():
            try:
                self._wait(self.client.create_index(self.uid, {"primaryKey": "id"}))
            except SearchUnavailable as exc:
                if exc.context.get("code") != "index_already_exists":
                    raise
            self._wait(self._index.update_settings(settings(self.synonyms)))

    def set_synonyms(self, synonyms: Synonyms) -> None:
        """Apply another vocabulary (the admin's overrides); returns when it is live."""
        if synonyms.key() == self.synonyms.key():
            return
        with _errors():
            self._wait(
                self._index.update_settings(
                    {"synonyms": synonyms.meili(), "dictionary": dictionary_words(synonyms)}
                )
            )
        self.synonyms = synonyms

    def drop(self) -> None:
        """Delete the index (tests and the benchmark use throw-away indexes)."""
        with _errors():
            self._wait(self.client.delete_index(self.uid))

    def _wait(self, info: Any) -> None:
        task = self.client.wait_for_task(
            info.task_uid, timeout_in_ms=self.task_timeout_ms, interval_in_ms=20
        )
        if task.status != "succeeded":
            error = task.error or {}
            raise SearchUnavailable(
                "搜索服务暂时不可用，请稍后再试",
                context={"code": error.get("code"), "message": error.get("message")},
            )

    # --- writing --------------------------------------------------------------------------

    def index(self, docs: Iterable[SearchDocument]) -> None:
        batch = list({d.id: d for d in docs}.values())
        if not batch:
            return
        for doc in batch:
            self._seen.update(an.field_terms(an.normalize(doc.name)).known)
        self._vocab = None
        with _errors():
            for start in range(0, len(batch), self.BATCH):
                body = [to_meili(d) for d in batch[start : start + self.BATCH]]
                self._wait(self._index.add_documents(body, primary_key="id"))

    def delete(self, ids: Iterable[int]) -> None:
        wanted = sorted({int(i) for i in ids})
        with _errors():
            for start in range(0, len(wanted), 1000):
                chunk = ",".join(str(i) for i in wanted[start : start + 1000])
                self._wait(self._index.delete_documents(filter=f"id IN [{chunk}]"))

    def clear(self) -> None:
        with _errors():
            self._wait(self._index.delete_all_documents())

    # --- reading --------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        text, hl = query_text(query.q)
        params: dict[str, Any] = {
            "filter": _filters(query),
            "facets": [*FACET_FIELDS.values(), "price_min_fen", "price_max_fen"],
            "page": query.page,
            "hitsPerPage": query.page_size,
            "attributesToRetrieve": DOCUMENT_FIELDS,
            "attributesToHighlight": ["name"],
            "highlightPreTag": PRE,
            "highlightPostTag": POST,
            "showRankingScore": True,
            "matchingStrategy": "all",
        }
        if query.sort in SORTS:
            params["sort"] = SORTS[query.sort]
        if an.HAN_RE.search(text):
            params["locales"] = ["cmn"]
        with _errors():
            raw = self._index.search(text, params)
            relaxed = False
            if not raw.get("totalHits") and len(text.split()) > 1:
                # Nothing has every word: Meilisearch drops words from the end instead.
                raw = self._index.search(text, {**params, "matchingStrategy": "last"})
                relaxed = bool(raw.get("totalHits"))
        total = int(raw.get("totalHits") or 0)
        facets, labels = _facets(raw.get("facetDistribution") or {})
        stats = raw.get("facetStats") or {}
        price = stats.get("price_min_fen")
        top = stats.get("price_max_fen") or price or {}
        return SearchResult(
            query=query,
            hits=[_hit(h, hl) for h in raw.get("hits", [])],
            total=total,
            facets=facets,
            facet_labels=labels,
            price_stats=PriceStats(int(price["min"]), int(top["max"])) if price else None,
            suggestions=(
                self._suggestions(text)
                if relaxed or (total < 3 and not matched_well(text, raw.get("hits", [])))
                else []
            ),
            relaxed=relaxed,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        text, _ = query_text(prefix)
        if not text:
            return []
        with _errors():
            raw = self._index.search(text, {"limit": 30, "attributesToRetrieve": ["name"]})
        names = [h["name"] for h in raw.get("hits", [])]
        head, _, last = text.rpartition(" ")
        words = [f"{head} {w}".strip() for w in self._vocabulary().complete(last, limit)]
        found = [w for w in words if any(w.split()[-1] in an.normalize(n) for n in names)]
        for name in names:
            if name not in found:
                found.append(name)
        return found[:limit]

    def ready(self) -> bool:
        try:
            return bool(self.client.is_healthy())
        except MeilisearchError:
            return False

    def stats(self) -> dict[str, Any]:
        with _errors():
            raw = self._index.get_stats()
        return {
            "backend": self.name,
            "index": self.uid,
            "documents": raw.number_of_documents,
            "indexing": raw.is_indexing,
        }

    def _suggestions(self, text: str) -> list[str]:
        words = text.split()
        found: list[str] = []
        vocab = self._vocabulary()
        for word in words[:4]:
            hits = 0
            if len(words) > 1:
                with _errors():
                    hits = int(self._index.search(word, {"limit": 0}).get("totalHits") or 0)
            if hits:
                found.append(word)
            else:
                found += vocab.nearest(word)
        return [s for i, s in enumerate(found) if s not in found[:i] and s != text][:5]

    def _vocabulary(self) -> an.Vocabulary:
        if self._vocab is None:
            weights = {entry.word: 1 for entry in an.dictionary()}
            weights.update({w: c + 1 for w, c in self._seen.items()})
            self._vocab = an.Vocabulary(weights)
        return self._vocab


def matched_well(text: str, hits: list[dict[str, Any]]) -> bool:
    """Whether a hit has every query word in its name, as typed or as its pinyin or initials:
    then "did you mean" is noise, however few the hits."""
    words = text.split()
    if not words:
        return False
    for raw in hits:
        name = an.normalize(str(raw.get("name", "")))
        terms = an.field_terms(name)
        known = terms.pinyin | terms.initials | terms.latin
        if all(w in name or w in known for w in words):
            return True
    return False


def _hit(raw: dict[str, Any], hl: an.HighlightTerms) -> SearchHit:
    doc = SearchDocument.from_dict({k: raw[k] for k in DOCUMENT_FIELDS if k in raw})
    spans = set(an.match_spans(doc.name, hl))
    spans.update(_marked((raw.get("_formatted") or {}).get("name", "")))
    description = doc.description[:600]
    text, desc_spans = an.snippet(description, an.match_spans(description, hl, pinyin=False))
    return SearchHit(
        id=doc.id,
        name=Highlighted(doc.name, tuple(_union(spans))),
        snippet=Highlighted(text, tuple(desc_spans)),
        score=float(raw.get("_rankingScore") or 0.0),
        document=doc,
    )


def _marked(formatted: str) -> list[tuple[int, int]]:
    """Spans of Meilisearch's highlight tags, as positions in the untagged text."""
    spans, removed = [], 0
    for m in _MARK_RE.finditer(formatted):
        start = m.start() - removed
        spans.append((start, start + len(m.group(1))))
        removed += len(PRE) + len(POST)
    return spans


def _union(spans: set[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return merged


def _facets(
    raw: dict[str, dict[str, int]],
) -> tuple[dict[str, dict[Any, int]], dict[str, dict[Any, str]]]:
    facets: dict[str, dict[Any, int]] = {}
    labels: dict[str, dict[Any, str]] = {}
    for facet in FACETS:
        counts: dict[Any, int] = {}
        names: dict[Any, str] = {}
        for value, count in (raw.get(FACET_FIELDS[facet]) or {}).items():
            if facet in ("village_id", "cooperative_id"):
                code, _, label = value.partition("|")
                key: Any = int(code)
            elif facet == "in_stock":
                key, label = value == "true", ""
            else:
                key, label = value, ""
            counts[key] = int(count)
            names[key] = static_facet_label(facet, key) or label
        ordered = sorted(counts, key=lambda k: -counts[k])
        facets[facet] = {k: counts[k] for k in ordered}
        labels[facet] = {k: names[k] for k in ordered}
    return facets, labels


class _errors:
    """Turn the client's errors into SearchUnavailable (503), keeping Meilisearch's code."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, MeilisearchError):
            raise SearchUnavailable(
                "搜索服务暂时不可用，请稍后再试",
                context={"code": getattr(exc, "code", None), "message": str(exc)},
            ) from exc
