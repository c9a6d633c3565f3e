"""Engine behaviour: filters and facets agree with a plain count, sorting, paging, highlights,
updates and deletes, autocomplete and help when nothing matches. The generic tests run on
every backend (Meilisearch only with FARMGATE_MEILI_URL set); the last ones test the embedded
engine's segments and snapshots."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from farmgate.search import embedded
from farmgate.search.backend import (
    SearchBackend,
    SearchDocument,
    SearchError,
    SearchFilters,
    SearchQuery,
)
from farmgate.search.embedded import EmbeddedIndex
from tests.support.search_catalogue import catalogue

DOCS = {d.id: d for d in catalogue()}


def all_ids(search_backend: SearchBackend, **kwargs: Any) -> list[int]:
    """Every matching id, page after page."""
    ids: list[int] = []
    page = 1
    while True:
        result = search_backend.search(SearchQuery(page=page, page_size=50, **kwargs))
        ids += result.ids
        if page >= result.pages:
            return ids
        page += 1


def expected_facets(docs: list[SearchDocument]) -> dict[str, dict[Any, int]]:
    return {
        "category": dict(Counter(d.category for d in docs)),
        "village_id": dict(Counter(d.village_id for d in docs)),
        "cooperative_id": dict(Counter(d.cooperative_id for d in docs)),
        "certification": dict(Counter(c for d in docs for c in d.certifications)),
        "storage_class": dict(Counter(d.storage_class for d in docs)),
        "in_stock": dict(Counter(d.in_stock for d in docs)),
    }


FILTERS = [
    SearchFilters(),
    SearchFilters(category="dried_goods"),
    SearchFilters(village_id=1),
    SearchFilters(cooperative_id=3, in_stock=True),
    SearchFilters(certification="green_food"),
    SearchFilters(storage_class="chilled"),
    SearchFilters(in_stock=False),
    SearchFilters(price_min_fen=2000, price_max_fen=5000),
    SearchFilters(category="meat_eggs", village_id=2, price_max_fen=6000),
    SearchFilters(village_id=99),
]


@pytest.mark.parametrize("filters", FILTERS)
def test_browsing_with_filters_matches_a_plain_count(
    search_backend: SearchBackend, filters: SearchFilters
) -> None:
    wanted = [d for d in DOCS.values() if filters.matches(d)]
    result = search_backend.search(SearchQuery(filters=filters, page_size=100))
    assert result.total == len(wanted)
    assert sorted(all_ids(search_backend, filters=filters)) == sorted(d.id for d in wanted)
    assert result.facets == expected_facets(wanted)
    if wanted:
        priced = [d for d in wanted if d.price_min_fen is not None]
        assert result.price_stats is not None
        assert result.price_stats.min_fen == min(d.price_min_fen or 0 for d in priced)
        assert result.price_stats.max_fen == max(d.price_max_fen or 0 for d in priced)


@pytest.mark.parametrize("q", ["辣椒", "谭家场", "lj", "腊肉 500g", "500g"])
@pytest.mark.parametrize("filters", FILTERS[1:6])
def test_a_query_with_filters_is_the_query_within_the_filters(
    search_backend: SearchBackend, q: str, filters: SearchFilters
) -> None:
    everything = set(all_ids(search_backend, q=q))
    inside = all_ids(search_backend, q=q, filters=filters)
    result = search_backend.search(SearchQuery(q=q, filters=filters))
    if result.relaxed:  # nothing inside the filters has every word: some words will do
        assert all(filters.matches(DOCS[i]) for i in inside)
        assert not {i for i in everything if filters.matches(DOCS[i])}
    else:
        assert set(inside) == {i for i in everything if filters.matches(DOCS[i])}
    assert result.facets == expected_facets([DOCS[i] for i in inside])


def test_facet_labels_name_every_value(search_backend: SearchBackend) -> None:
    result = search_backend.search(SearchQuery(q="鸡蛋"))
    labels = result.facet_labels
    assert labels["village_id"][1] == "谭家场"
    assert labels["cooperative_id"][1].startswith("辰溪县谭家场红辣椒")
    assert labels["category"]["meat_eggs"] == "肉禽蛋品"
    assert labels["in_stock"][True] == "有货"
    for facet, counts in result.facets.items():
        assert set(labels[facet]) == set(counts)


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [
        ("price_asc", lambda d: d.price_min_fen, False),
        ("price_desc", lambda d: d.price_min_fen, True),
        ("sales", lambda d: d.sales, True),
        ("newest", lambda d: d.published_at, True),
    ],
)
def test_sorting(search_backend: SearchBackend, sort: str, key: Any, descending: bool) -> None:
    for q in ("", "辣椒", "lj"):
        ids = all_ids(search_backend, q=q, sort=sort)
        values = [key(DOCS[i]) for i in ids]
        priced = [v for v in values if v is not None]
        assert priced == sorted(priced, reverse=descending), (q, sort)
        if None in values:  # products without a price come last
            assert values[values.index(None) :] == [None] * values.count(None)


def test_relevance_breaks_ties_by_sales(search_backend: SearchBackend) -> None:
    ids = search_backend.search(SearchQuery(q="lajiao", page_size=30)).ids
    chilli = [
        i for i in ids if "辣椒" in DOCS[i].name or "辣椒" in DOCS[i].name.replace("乾", "干")
    ]
    sales = [DOCS[i].sales for i in chilli]
    assert sales == sorted(sales, reverse=True)


def test_pages_partition_the_results(search_backend: SearchBackend) -> None:
    whole = search_backend.search(SearchQuery(q="辣椒", page_size=100))
    pages = [search_backend.search(SearchQuery(q="辣椒", page=p, page_size=7)) for p in range(1, 8)]
    joined = [i for page in pages for i in page.ids]
    assert joined == whole.ids
    assert all(page.total == whole.total for page in pages)
    assert pages[0].pages == -(-whole.total // 7)
    assert search_backend.search(SearchQuery(q="辣椒", page=50, page_size=7)).hits == []


def test_invalid_queries_are_refused() -> None:
    with pytest.raises(SearchError):
        SearchQuery(page=0)
    with pytest.raises(SearchError):
        SearchQuery(page_size=101)
    with pytest.raises(SearchError):
        SearchQuery(sort="cheapest")  # type: ignore[arg-type]
    assert len(SearchQuery(q="辣" * 500).q) == 100


def test_highlights(search_backend: SearchBackend) -> None:
    hit = search_backend.search(SearchQuery(q="谭家场 干辣椒")).hits[0]
    assert hit.id == 121
    assert hit.name.marked == ["谭家场干辣椒"]
    assert "<mark>谭家场</mark>" in hit.snippet.__html__()
    pinyin = search_backend.search(SearchQuery(q="tjc")).hits[0]
    assert pinyin.name.marked == ["谭家场"] or pinyin.name.marked == ["譚家場"]
    traditional = search_backend.search(SearchQuery(q="土鸡蛋 谭家场 30枚")).hits[0]
    assert traditional.id == 903
    assert traditional.name.__html__() == "<mark>譚家場土雞蛋</mark>"
    assert traditional.snippet.marked[0] == "譚家場"
    units = search_backend.search(SearchQuery(q="腊肉 500g")).hits[0]
    assert units.id == 314
    assert units.name.marked == ["腊肉", "500克"]


def test_update_and_delete(fresh_search_backend: SearchBackend) -> None:
    before = fresh_search_backend.search(SearchQuery(q="谭家场 鸡蛋"))
    renamed = replace(
        DOCS[603],
        name="农家鸭蛋",
        description="稻田麻鸭下的蛋。",
        village_id=3,
        village_name="高坪",
    )
    fresh_search_backend.index([renamed])
    after = fresh_search_backend.search(SearchQuery(q="谭家场 鸡蛋"))
    assert 603 in before.ids and 603 not in after.ids
    assert 603 in fresh_search_backend.search(SearchQuery(q="高坪 鸭蛋")).ids
    fresh_search_backend.delete([603, 602, 12345])
    gone = fresh_search_backend.search(SearchQuery(q="鸭蛋", page_size=50))
    assert 603 not in gone.ids
    assert 602 not in all_ids(fresh_search_backend)
    assert gone.facets["village_id"].get(3) == sum(
        1 for i in gone.ids if DOCS[i].village_id == 3 and i != 603
    )
    fresh_search_backend.index([DOCS[602]])
    assert 602 in fresh_search_backend.search(SearchQuery(q="谭家场 鸡蛋")).ids
    fresh_search_backend.clear()
    assert fresh_search_backend.search(SearchQuery()).total == 0


def test_suggest(search_backend: SearchBackend) -> None:
    assert "辣椒" in search_backend.suggest("辣")
    assert "辣椒" in search_backend.suggest("laj")
    assert "谭家场" in search_backend.suggest("tjc")
    assert "稻花鱼" in search_backend.suggest("daohua")
    assert any(s.startswith("谭家场 土鸡蛋") for s in search_backend.suggest("谭家场 土鸡"))
    assert search_backend.suggest("") == []
    assert len(search_backend.suggest("l", limit=3)) <= 3


def test_no_results_help(search_backend: SearchBackend) -> None:
    nothing = search_backend.search(SearchQuery(q="榴莲"))
    assert (nothing.total, nothing.hits, nothing.relaxed) == (0, [], False)
    partial = search_backend.search(SearchQuery(q="谭家场 榴莲"))
    assert partial.relaxed and partial.total > 0
    assert "谭家场" in partial.suggestions
    assert set(partial.ids) <= set(all_ids(search_backend, q="谭家场"))
    near = search_backend.search(SearchQuery(q="稻花鲤鱼"))
    assert any("鱼" in s for s in near.suggestions)
    typo = search_backend.search(
        SearchQuery(q="fengmo")
    )  # one letter off: corrected, not "no results"
    assert {801, 802, 803, 829} <= set(typo.ids)


# --- the embedded engine's internals ----------------------------------------------------------


def test_small_updates_go_to_the_delta_and_fold_later(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "DELTA_MAX", 5)
    index = EmbeddedIndex(DOCS.values())
    assert index.stats()["delta_rows"] == 0
    for i in range(5):
        index.index([replace(DOCS[601], id=10_000 + i, name=f"土鸡蛋 {i}号")])
    assert index.stats()["delta_rows"] == 5
    assert {10_000, 10_004} <= set(index.search(SearchQuery(q="土鸡蛋", page_size=50)).ids)
    index.index([replace(DOCS[601], id=10_005, name="土鸡蛋 新")])
    assert index.stats()["delta_rows"] == 0  # folded into the main segment
    assert 10_005 in index.search(SearchQuery(q="tujidan", page_size=50)).ids
    assert index.stats()["documents"] == len(DOCS) + 6


def test_compaction_keeps_results_right(monkeypatch: pytest.MonkeyPatch) -> None:
    index = EmbeddedIndex(DOCS.values())
    extra = [replace(DOCS[i % 900 + 101] if i % 900 + 101 in DOCS else DOCS[101], id=50_000 + i)
             for i in range(1200)]  # fmt: skip
    index.index(extra)
    assert index.search(SearchQuery(q="辣椒")).total > 1000
    index.delete(d.id for d in extra)
    stats = index.stats()
    assert stats["rows"] == stats["documents"] == len(DOCS)  # renumbered
    fresh = EmbeddedIndex(DOCS.values())
    for q in ("辣椒", "lj", "腊肉 500g", ""):
        assert all_ids(index, q=q) == all_ids(fresh, q=q)
        assert index.search(SearchQuery(q=q)).facets == fresh.search(SearchQuery(q=q)).facets


def test_readers_never_see_half_a_write() -> None:
    index = EmbeddedIndex(DOCS.values())
    errors: list[BaseException] = []
    totals: set[int] = set()
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                result = index.search(SearchQuery(q="鸡蛋", page_size=50))
                assert len(result.ids) == result.total == sum(result.facets["in_stock"].values())
                totals.add(result.total)
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for i in range(200):
        index.index([replace(DOCS[601], id=20_000 + i % 20, name=f"鸡蛋 {i}")])
        if i % 7 == 0:
            index.delete([20_000 + (i + 3) % 20])
        time.sleep(0)  # let the readers in
    stop.set()
    for t in readers:
        t.join()
    assert not errors
    assert len(totals) > 1


def test_documents_round_trip_and_need_aware_times() -> None:
    doc = DOCS[902]
    assert SearchDocument.from_dict(doc.to_dict()) == doc
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(doc, published_at=datetime(2026, 1, 1))


# --- the Meilisearch backend against a recording stand-in ----------------------------------------


class FakeMeili:
    """Records what the backend asks of the client; answers searches from a queue."""

    def __init__(self, fail_create: str | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.answers: list[dict[str, Any]] = []
        self.fail_create = fail_create

    def _task(self, *call: Any) -> Any:
        self.calls.append(call)
        return type("Info", (), {"task_uid": len(self.calls)})()

    def index(self, uid: str) -> FakeMeili:
        return self

    def create_index(self, uid: str, options: dict[str, Any]) -> Any:
        return self._task("create", uid, options)

    def wait_for_task(self, uid: int, timeout_in_ms: int, interval_in_ms: int) -> Any:
        failed = self.fail_create and self.calls[uid - 1][0] == "create"
        error = {"code": self.fail_create} if failed else None
        return type("Task", (), {"status": "failed" if failed else "succeeded", "error": error})()

    def update_settings(self, body: dict[str, Any]) -> Any:
        return self._task("settings", body)

    def add_documents(self, docs: list[dict[str, Any]], primary_key: str) -> Any:
        return self._task("add", docs, primary_key)

    def delete_documents(self, filter: str) -> Any:
        return self._task("delete", filter)

    def search(self, q: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("search", q, params))
        return self.answers.pop(0) if self.answers else {"hits": [], "totalHits": 0}


def meili_with(fake: FakeMeili) -> Any:
    from farmgate.search.meili import MeiliBackend

    return MeiliBackend("http://127.0.0.1:7700", None, "products", client=fake)  # type: ignore[arg-type]


def test_meili_configure_applies_every_setting() -> None:
    fake = FakeMeili(fail_create="index_already_exists")  # a second start finds the index
    meili_with(fake).configure()
    (_, uid, options), (_, body) = fake.calls
    assert (uid, options) == ("products", {"primaryKey": "id"})
    assert {"谭家场乡", "王洋屯", "干辣椒", "辰溪稻花鱼"} <= set(body["dictionary"])
    assert body["localizedAttributes"] == [
        {"attributePatterns": ["name", "name_norm", "name_terms", "spec_terms", "place_terms"],
         "locales": ["cmn"]}
    ]  # fmt: skip
    assert {"name_pinyin", "place_pinyin", "name_terms"} <= set(body["searchableAttributes"])
    assert {"id", "village_id", "certifications", "price_min_fen"} <= set(
        body["filterableAttributes"]
    )
    assert set(body["sortableAttributes"]) == {"price_asc", "price_desc", "sales", "published_ts"}


def test_meili_documents_carry_sub_words_pinyin_and_quantities() -> None:
    fake = FakeMeili()
    meili_with(fake).index([DOCS[813], DOCS[110], DOCS[314], DOCS[839]])
    (_, docs, key), = fake.calls  # fmt: skip
    by_id = {d["id"]: d for d in docs}
    assert key == "id"
    assert "简单" in by_id[813]["name_terms"].split()
    assert {"lajiao", "lajiaojiang", "ljj"} <= set(by_id[110]["name_pinyin"].split())
    assert "tjc" in by_id[110]["place_pinyin"].split()
    assert "500g" in by_id[314]["spec_terms"].split()
    assert by_id[839]["price_asc"] > 10**9 and by_id[839]["price_desc"] == -1
    assert by_id[110]["village_facet"] == "1|谭家场"
    assert SearchDocument.from_dict({k: by_id[110][k] for k in DOCS[110].to_dict()}) == DOCS[110]


def test_meili_search_maps_query_filters_sort_facets_and_hits() -> None:
    fake = FakeMeili()
    raw_doc = DOCS[314].to_dict()
    fake.answers.append(
        {
            "hits": [{**raw_doc, "_formatted": {"name": "\ue000腊肉\ue001 500克装"},
                      "_rankingScore": 0.9}],
            "totalHits": 1,
            "facetDistribution": {
                "village_facet": {"1|谭家场": 1},
                "in_stock": {"true": 1},
                "category": {"meat_eggs": 1},
                "certifications": {},
            },
            "facetStats": {"price_min_fen": {"min": 6600, "max": 6600},
                           "price_max_fen": {"min": 6600, "max": 6600}},
        }
    )  # fmt: skip
    query = SearchQuery(
        q="臘肉 500克",
        filters=SearchFilters(village_id=1, certification='a"b', in_stock=True, price_max_fen=9000),
        sort="price_asc",
        page=2,
        page_size=10,
    )
    result = meili_with(fake).search(query)
    (_, q, params), _suggest = fake.calls[0], fake.calls[1:]
    assert q == "腊肉 500g"
    assert params["filter"] == [
        "village_id = 1",
        'certifications = "a\\"b"',
        "in_stock = true",
        "price_min_fen <= 9000",
    ]
    assert params["sort"] == ["price_asc:asc", "sales:desc"]
    assert (params["page"], params["hitsPerPage"], params["matchingStrategy"]) == (2, 10, "all")
    assert params["locales"] == ["cmn"]
    assert result.total == 1 and result.ids == [314]
    assert result.hits[0].name.marked == ["腊肉", "500克"]
    assert result.facets["village_id"] == {1: 1}
    assert result.facet_labels["village_id"] == {1: "谭家场"}
    assert result.facets["in_stock"] == {True: 1}
    assert result.price_stats is not None and result.price_stats.min_fen == 6600


def test_meili_relaxes_when_nothing_has_every_word() -> None:
    fake = FakeMeili()
    fake.answers += [
        {"hits": [], "totalHits": 0},
        {"hits": [{**DOCS[101].to_dict()}], "totalHits": 1},
    ]
    result = meili_with(fake).search(SearchQuery(q="谭家场 榴莲"))
    assert result.relaxed and result.ids == [101]
    assert fake.calls[1][2]["matchingStrategy"] == "last"
    meili_with(fake).search(SearchQuery(q="lajiao"))
    assert "locales" not in fake.calls[-1][2]  # a latin query is not tokenised as Chinese


def test_meili_deletes_by_filter_and_reports_outages() -> None:
    from meilisearch.errors import MeilisearchCommunicationError

    from farmgate.search.backend import SearchUnavailable

    fake = FakeMeili()
    backend = meili_with(fake)
    backend.delete([3, 1, 2])
    assert fake.calls == [("delete", "id IN [1,2,3]")]

    def down(q: str, params: dict[str, Any]) -> dict[str, Any]:
        raise MeilisearchCommunicationError("connection refused")

    fake.search = down  # type: ignore[method-assign]
    with pytest.raises(SearchUnavailable) as caught:
        backend.search(SearchQuery(q="辣椒"))
    assert caught.value.status == 503
