"""Search benchmark: index generated products, then time a mix of queries, per backend.

    .venv/bin/python bench/search.py --products 100000 --queries 2000

Products get realistic Chinese names (place + maker's word + product + pack, a few in
traditional characters), descriptions, SKU specs, villages, cooperatives and certifications.
Queries mix Chinese words, partial words, place names, pinyin, initials, typos, words with
units and traditional characters; a third carry a filter, a third a sort, some ask for page
2 or 3. Every query computes facet counts. Meilisearch runs too when FARMGATE_MEILI_URL is
set (its index is created, filled and dropped here).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import zhconv

from farmgate.demo.seed import VILLAGES
from farmgate.search.backend import (
    SearchBackend,
    SearchDocument,
    SearchFilters,
    SearchQuery,
)
from farmgate.search.embedded import EmbeddedIndex

TRADES = [
    "红辣椒种植",
    "稻花鱼养殖",
    "山茶油",
    "腊味加工",
    "茶叶",
    "生态农业",
    "果蔬",
    "土鸡养殖",
    "蜂业",
    "竹编",
]
# (product, category, storage, specs)
KINDS = [
    ("干辣椒", "dried_goods", "ambient", ["250g 袋装", "500g 袋装", "1kg 袋装"]),
    ("干红辣椒", "dried_goods", "ambient", ["500g 袋装", "1斤 袋装"]),
    ("剁辣椒", "dried_goods", "ambient", ["300g 瓶装", "500g 瓶装", "1kg 瓶装"]),
    ("辣椒粉", "dried_goods", "ambient", ["100g 袋装", "250g 袋装"]),
    ("辣椒酱", "dried_goods", "ambient", ["200g 瓶装", "280g 瓶装"]),
    ("朝天椒", "dried_goods", "ambient", ["250g 袋装", "500g 袋装"]),
    ("花椒", "dried_goods", "ambient", ["100g 袋装"]),
    ("稻花香米", "grain_oil", "ambient", ["2.5kg 真空装", "5kg 袋装", "10kg 袋装"]),
    ("大米", "grain_oil", "ambient", ["5kg 袋装", "25斤 袋装"]),
    ("糯米", "grain_oil", "ambient", ["2.5kg 袋装"]),
    ("米粉", "grain_oil", "ambient", ["1kg 袋装"]),
    ("红薯粉丝", "grain_oil", "ambient", ["500g 袋装"]),
    ("腊肉", "meat_eggs", "ambient", ["500g 真空装", "1kg 真空装", "2斤 真空装"]),
    ("五花腊肉", "meat_eggs", "ambient", ["500g 真空装", "1kg 真空装"]),
    ("腊肠", "meat_eggs", "ambient", ["500g 真空装"]),
    ("腊鱼", "aquatic", "ambient", ["500g 真空装"]),
    ("腊鸭", "meat_eggs", "ambient", ["1只 真空装"]),
    ("猪血丸子", "meat_eggs", "ambient", ["500g 真空装"]),
    ("山茶油", "grain_oil", "ambient", ["500ml 瓶装", "1L 瓶装", "2.5L 桶装", "5L 桶装"]),
    ("茶油", "grain_oil", "ambient", ["250ml 瓶装", "2.5L 桶装"]),
    ("茶籽油", "grain_oil", "ambient", ["500ml 瓶装"]),
    ("菜籽油", "grain_oil", "ambient", ["5L 桶装"]),
    ("稻花鱼", "aquatic", "chilled", ["单条约 300g", "4 条礼盒"]),
    ("稻田鱼", "aquatic", "frozen", ["1kg 冷冻装"]),
    ("草鱼", "aquatic", "chilled", ["1条约 2kg"]),
    ("土鸡蛋", "meat_eggs", "ambient", ["20 枚装", "30 枚装", "60 枚装"]),
    ("鸡蛋", "meat_eggs", "ambient", ["30 枚装"]),
    ("鸭蛋", "meat_eggs", "ambient", ["20 枚装"]),
    ("咸鸭蛋", "meat_eggs", "ambient", ["12 枚装"]),
    ("土鸡", "meat_eggs", "frozen", ["1只约 1.5kg"]),
    ("绿茶", "tea_drinks", "ambient", ["100g 罐装", "250g 罐装"]),
    ("黑茶", "tea_drinks", "ambient", ["1kg 砖"]),
    ("红茶", "tea_drinks", "ambient", ["100g 罐装"]),
    ("茶叶", "tea_drinks", "ambient", ["500g 袋装"]),
    ("土蜂蜜", "other", "ambient", ["500g 瓶装", "1kg 瓶装"]),
    ("椪柑", "fruit_veg", "ambient", ["5kg 箱装"]),
    ("脐橙", "fruit_veg", "ambient", ["5kg 箱装"]),
    ("香菇", "dried_goods", "ambient", ["250g 袋装"]),
    ("黑木耳", "dried_goods", "ambient", ["250g 袋装"]),
    ("笋干", "dried_goods", "ambient", ["500g 袋装"]),
    ("蕨菜", "dried_goods", "ambient", ["250g 袋装"]),
    ("红薯", "fruit_veg", "ambient", ["5kg 箱装"]),
    ("魔芋豆腐", "fruit_veg", "chilled", ["1kg 袋装"]),
    ("竹编篮", "handicraft", "ambient", ["大号", "小号"]),
]
MAKERS = [
    "农家",
    "散养",
    "柴火",
    "手工",
    "精选",
    "特级",
    "野生",
    "有机",
    "古法",
    "高山",
    "本地",
    "老树",
]
PACKS = ["礼盒", "家庭装", "小包装", "特辣", "中辣", "新货", "袋装", "散装", "优选", "年货"]
PHRASES = [
    "日晒风干，香辣适中", "稻田生态养殖，冷链发货", "柴火熏制，肥瘦相间",
    "一级压榨，色泽清亮", "山上散养，鸡吃虫草谷物", "明前采摘，高山云雾",
    "当季新米，煮饭香软", "手工制作，无添加", "用本地干辣椒和花椒腌制",
    "百年油茶林，古法压榨", "农户自家种植，产量有限", "真空包装，常温保存",
    "下单后当天发货", "适合炖汤、炒菜", "送礼自用都合适", "合作社统一收购，品质稳定",
    "坛子腌制，开胃下饭", "山泉水灌溉，土壤富硒", "冷藏发货，收到请尽快食用",
    "湘西传统做法",
]  # fmt: skip
CERTS = ["green_food", "organic", "geo_indication"]
QUERIES = [
    "辣椒", "干辣椒", "剁辣椒", "辣椒酱", "腊肉", "腊肠", "茶油", "山茶油", "茶叶", "鸡蛋", "鸭蛋",
    "土鸡蛋", "稻花鱼", "稻花香米", "大米", "米粉", "蜂蜜", "香菇", "绿茶", "竹编",
    "花香米", "五花", "鸡蛋 30枚", "腊肉 500g", "腊肉 500克", "茶油 2.5L", "干辣椒 1斤", "大米 5kg",
    "谭家场", "高坪", "狮头坡", "草子坳", "上荆竹溪", "谭家场 鸡蛋", "高坪 稻花鱼", "狮头坡 茶油",
    "谭家场鸡蛋", "湘西 腊肉", "辰溪稻花鱼",
    "lajiao", "la jiao", "larou", "chayou", "jidan", "daohuayu", "tanjiachang", "fengmi", "gaoping",
    "lj", "tjc", "dhy", "lr", "cy", "tjc 鸡蛋", "l", "t",
    "lajioa", "tanjaichang", "larou500g", "daohuyau", "chayuo",
    "臘肉", "雞蛋", "乾辣椒", "茶葉", "譚家場", "稻花魚", "臘腸 500克",
    "谭家厂", "冷藏", "绿色食品", "有机 大米", "礼盒", "特辣 干辣椒", "手工 腊肠", "榴莲", "",
    "稻米", "鲜鱼", "腊味", "茶籽油", "剁椒", "年货", "送礼", "土特产", "年货 腊肉",
]  # fmt: skip
SORTS = ["price_asc", "price_desc", "sales", "newest"]


def products(n: int, seed: int = 7) -> list[SearchDocument]:
    rng = random.Random(seed)
    coops = [(v, f"{VILLAGES[v]}{t}专业合作社（示例）") for v in range(10) for t in TRADES]
    now = datetime(2026, 11, 1, tzinfo=UTC)
    docs = []
    for pid in range(1, n + 1):
        kind, category, storage, specs = rng.choice(KINDS)
        village = rng.randrange(10)
        coop = rng.randrange(len(coops))
        parts = []
        if rng.random() < 0.35:
            parts.append(rng.choice([VILLAGES[village], "湘西", "辰溪", "谭家场"]))
        if rng.random() < 0.5:
            parts.append(rng.choice(MAKERS))
        parts.append(kind)
        name = "".join(parts)
        if rng.random() < 0.3:
            name += " " + rng.choice(PACKS)
        if rng.random() < 0.02:
            name = zhconv.convert(name, "zh-hant")
        chosen = rng.sample(specs, rng.randint(1, len(specs)))
        prices = [rng.randrange(800, 30000) for _ in chosen]
        description = "，".join(rng.sample(PHRASES, 3)) + f"。产自{VILLAGES[village]}村。"
        docs.append(
            SearchDocument(
                id=pid,
                name=name,
                description=description,
                category=category,
                village_id=village + 1,
                village_name=VILLAGES[village],
                cooperative_id=coop + 1,
                cooperative_name=coops[coop][1],
                certifications=[c for c in CERTS if rng.random() < 0.12],
                storage_class=storage,
                in_stock=rng.random() < 0.9,
                price_min_fen=min(prices),
                price_max_fen=max(prices),
                sales=int(rng.paretovariate(1.2) * 10),
                published_at=now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)),
                specs=chosen,
                unit="袋",
            )
        )
    return docs


def queries(count: int, seed: int = 11) -> list[SearchQuery]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        filters = SearchFilters()
        roll = rng.random()
        if roll < 0.1:
            filters = SearchFilters(village_id=rng.randint(1, 10))
        elif roll < 0.2:
            filters = SearchFilters(category=rng.choice(KINDS)[1], in_stock=True)
        elif roll < 0.3:
            low = rng.randrange(1000, 10000)
            filters = SearchFilters(price_min_fen=low, price_max_fen=low + 5000)
        sort = rng.choice(SORTS) if rng.random() < 0.33 else "relevance"
        page = rng.choice([1, 1, 1, 1, 2, 3])
        out.append(SearchQuery(q=rng.choice(QUERIES), filters=filters, sort=sort, page=page))
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(
    name: str, backend: SearchBackend, docs: list[SearchDocument], qs: list[SearchQuery]
) -> None:
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    for i in range(0, len(docs), 20_000):
        backend.index(docs[i : i + 20_000])
    index_s = time.perf_counter() - started
    after = rss_mb()
    for q in qs[:50]:  # warm-up (lazy vocabularies, caches)
        backend.search(q)
    timings = []
    for q in qs:
        t0 = time.perf_counter()
        backend.search(q)
        timings.append((time.perf_counter() - t0) * 1000)
    rng = random.Random(3)
    updates = []
    for _ in range(50):  # a few documents changed on the full index
        doc = docs[rng.randrange(len(docs))]
        t0 = time.perf_counter()
        backend.index([SearchDocument.from_dict({**doc.to_dict(), "sales": doc.sales + 1})])
        updates.append((time.perf_counter() - t0) * 1000)
    suggest = []
    for prefix in ["辣", "腊", "谭家", "la", "lj", "cha", "tjc", "稻花"] * 25:
        t0 = time.perf_counter()
        backend.suggest(prefix)
        suggest.append((time.perf_counter() - t0) * 1000)
    print(
        f"{name:<12} {len(docs):>8} {index_s:>8.1f} {after - before:>8.0f} "
        f"{pct(timings, 50):>7.2f} {pct(timings, 95):>7.2f} {pct(timings, 99):>7.2f} "
        f"{statistics.median(updates):>8.2f} {pct(suggest, 95):>8.2f}"
    )


# Run in a fresh interpreter (settings from the environment): one search through the store.
FIRST_SEARCH = """
import os, time
from pathlib import Path
from farmgate.db import session_scope
from farmgate.search import service
from farmgate.search.backend import SearchQuery
t0 = time.perf_counter()
with session_scope() as session:
    result = service.search(session, SearchQuery(q="辣椒"))
took = time.perf_counter() - t0
answered = time.time() - float(os.environ["BENCH_SPAWNED"])
rss = [l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS:")]
print(result.total, int(rss[0].split()[1]) // 1024, f"{took:.1f}", f"{answered:.1f}")
"""


def startup(docs: list[SearchDocument]) -> None:
    """Time from a new process's start to its first search's answer (SQLite, store entries)."""
    import resource
    import subprocess
    import tempfile

    from sqlalchemy import create_engine, insert

    from farmgate.models import SearchEntry, SearchSynonym, SearchVersion

    tmp = Path(tempfile.mkdtemp(prefix="farmgate-search-bench-"))
    url = f"sqlite:///{tmp / 'search.db'}"
    engine = create_engine(url)
    SearchEntry.metadata.create_all(
        engine,
        tables=[SearchEntry.__table__, SearchVersion.__table__, SearchSynonym.__table__],  # type: ignore[list-item]
    )
    now = datetime.now(UTC)
    version = 0

    def write(batch: list[SearchDocument]) -> None:
        nonlocal version
        version += 1
        rows = [
            {"product_id": d.id, "version": version, "body": d.to_dict(), "updated_at": now}
            for d in batch
        ]
        with engine.begin() as conn:
            conn.execute(
                SearchEntry.__table__.delete().where(
                    SearchEntry.__table__.c.product_id.in_([d.id for d in batch])
                )
            )  # type: ignore[attr-defined]
            conn.execute(insert(SearchEntry), rows)
            conn.execute(SearchVersion.__table__.delete())  # type: ignore[attr-defined]
            conn.execute(insert(SearchVersion), [{"id": 1, "value": version}])

    for i in range(0, len(docs), 5000):
        write(docs[i : i + 5000])

    def first(label: str, snapshot_min: int) -> None:
        env = {
            **os.environ,
            "FARMGATE_DATABASE_URL": url,
            "FARMGATE_DATA_DIR": str(tmp / "var"),
            "FARMGATE_SEARCH_SNAPSHOT_MIN": str(snapshot_min),
        }
        env["BENCH_SPAWNED"] = repr(time.time())
        started = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            [sys.executable, "-c", FIRST_SEARCH],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        wall = time.perf_counter() - started
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
        print(
            f"{label:<34} {out[3]:>8} {wall:>7.1f} {cpu:>7.1f} {out[2]:>9} {out[0]:>6} {out[1]:>7}"
        )

    print(
        f"{'new process, first search':<34} {'answer s':>8} {'wall s':>7} {'CPU s':>7} "
        f"{'search s':>9} "
        f"{'hits':>6} {'RSS MB':>7}"
    )
    first("no snapshot (before)", 0)
    first("no snapshot yet: build + write it", 5000)
    first("snapshot loaded", 5000)
    rng = random.Random(5)
    write([
        SearchDocument.from_dict({**d.to_dict(), "sales": d.sales + 1})
        for d in rng.sample(docs, 2000)
    ])  # fmt: skip
    first("snapshot + 2,000 newer entries", 5000)
    size = sum(f.stat().st_size for f in (tmp / "var").glob("search-*.snapshot"))
    print(f"snapshot file: {size / 1e6:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--startup-only", action="store_true", help="only time-to-first-search")
    args = parser.parse_args()
    docs = products(args.products)
    startup(docs)
    if args.startup_only:
        return
    qs = queries(args.queries)
    print(
        f"{'backend':<12} {'products':>8} {'index s':>8} {'RSS MB':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'update ms':>8} {'suggest':>8}"
    )
    run("embedded", EmbeddedIndex(), docs, qs)
    url = os.environ.get("FARMGATE_MEILI_URL")
    if not url:
        print("meilisearch  skipped: FARMGATE_MEILI_URL is not set")
        return
    from farmgate.search.meili import MeiliBackend

    meili = MeiliBackend(url, os.environ.get("FARMGATE_MEILI_KEY"), f"bench-{uuid.uuid4().hex}")
    meili.configure()
    try:
        run("meilisearch", meili, docs, qs)
    finally:
        meili.drop()


if __name__ == "__main__":
    main()
