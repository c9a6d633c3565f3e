"""Sample data for 谭家场乡 (辰溪县, 怀化市, 湖南省). SAMPLE DATA: people, companies, codes and
prices are invented for the demo; only the place names are real."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.accounts import service as accounts
from farmgate.catalog import service as catalog
from farmgate.catalog.schemas import ProductCreate, SkuCreate
from farmgate.config import settings
from farmgate.db import pk, utcnow
from farmgate.models import (
    Account,
    Cooperative,
    CooperativeStatus,
    Product,
    ProductStatus,
    Role,
    StorageClass,
    Township,
    Village,
)
from farmgate.places import BUILTIN_TOWNSHIP, BUILTIN_VILLAGES
from farmgate.validators import uscc_check_char

# The bundled township's real place names (farmgate/places.py); re-used by tests and benches.
TOWNSHIP = BUILTIN_TOWNSHIP
VILLAGES = BUILTIN_VILLAGES

DEMO_PASSWORD = "farmgate-demo"
ADMIN_PHONE = "13800000000"


def sample_uscc(serial: int) -> str:
    """A well-formed, invented 统一社会信用代码 (93 = farmers' cooperative; 431223 = 辰溪县)."""
    body = f"93431223MA4L{serial:04d}X"[:17]
    body = body.replace("X", "0")
    return body + uscc_check_char(body)


# (name, village, story, staff phone)
COOPERATIVES = [
    (
        "辰溪县谭家场红辣椒种植专业合作社（示例）",
        "谭家场",
        "全乡最早的辣椒合作社，晒干的朝天椒色红味香。",
        "13800000001",
    ),
    (
        "谭家场乡高坪稻花鱼养殖专业合作社（示例）",
        "高坪",
        "稻田里养鱼，鱼吃虫草，稻不打药。",
        "13800000002",
    ),
    ("谭家场乡狮头坡山茶油专业合作社（示例）", "狮头坡", "百年油茶林，古法压榨。", "13800000003"),
]

# (coop index, name, category, village, unit, shelf life, storage, description, skus)
PRODUCTS = [
    (
        0,
        "谭家场干红辣椒",
        "dried_goods",
        "谭家场",
        "斤",
        365,
        "ambient",
        "本地朝天椒，日晒风干，香辣适中。",
        [("500g 袋装", 3800, 120, 550), ("1kg 袋装", 7200, 60, 1080)],
    ),
    (
        0,
        "剁辣椒",
        "dried_goods",
        "李家坳",
        "瓶",
        180,
        "ambient",
        "鲜红辣椒手工剁制，农家风味。",
        [("300g 瓶装", 2200, 80, 450)],
    ),
    (
        0,
        "辣椒粉",
        "dried_goods",
        "谭家场",
        "袋",
        365,
        "ambient",
        "干辣椒石磨研磨。",
        [("250g 袋装", 1800, 0, 280)],
    ),
    (
        1,
        "辰溪稻花鱼",
        "aquatic",
        "高坪",
        "条",
        7,
        "chilled",
        "国家地理标志产品，稻田生态养殖，冷链发货。",
        [("单条约 300g", 3500, 40, 600), ("4 条礼盒", 12800, 15, 2200)],
    ),
    (
        1,
        "高坪稻花香米",
        "grain_oil",
        "高坪",
        "袋",
        365,
        "ambient",
        "稻鱼共生田的当季新米。",
        [("5kg 袋装", 6800, 200, 5100)],
    ),
    (
        1,
        "土鸡蛋",
        "meat_eggs",
        "上荆竹溪",
        "枚",
        30,
        "ambient",
        "山上散养土鸡所产。",
        [("30 枚装", 4500, 50, 2000)],
    ),
    (
        2,
        "压榨山茶油",
        "grain_oil",
        "狮头坡",
        "瓶",
        540,
        "ambient",
        "一级压榨，色泽清亮。",
        [("500ml 瓶装", 8800, 70, 700), ("2.5L 桶装", 39800, 20, 2600)],
    ),
    (
        2,
        "湘西腊肉",
        "meat_eggs",
        "草子坳",
        "斤",
        180,
        "ambient",
        "柴火熏制，肥瘦相间。",
        [("500g 真空装", 6800, 35, 550)],
    ),
]


def seed(session: Session) -> dict[str, str]:
    """Create the township, villages, demo accounts and catalogue; idempotent by township code."""
    if settings.env == "production":
        raise RuntimeError("the demo seed (published passwords) never runs in production")
    existing = session.scalars(
        select(Township).where(col(Township.code) == TOWNSHIP["code"])
    ).first()
    if existing is not None:
        return {}
    township = Township(**TOWNSHIP)
    session.add(township)
    session.flush()
    villages: dict[str, Village] = {}
    for name in VILLAGES:
        village_row = Village(township_id=pk(township), name=name)
        session.add(village_row)
        villages[name] = village_row
    session.flush()

    credentials = {"乡镇管理员": ADMIN_PHONE}
    accounts.create_account(
        session,
        phone=ADMIN_PHONE,
        password=DEMO_PASSWORD,
        display_name="乡电商办（示例）",
        role=Role.ADMIN,
    )
    staff: list[Account] = []
    for i, (name, village, story, phone) in enumerate(COOPERATIVES, start=1):
        coop = Cooperative(
            township_id=pk(township),
            village_id=pk(villages[village]),
            name=name,
            uscc=sample_uscc(i),
            contact_name=f"联系人{i}（示例）",
            contact_phone=phone,
            story=story,
            status=CooperativeStatus.APPROVED,
            approved_at=utcnow(),
        )
        session.add(coop)
        session.flush()
        staff.append(
            accounts.create_account(
                session,
                phone=phone,
                password=DEMO_PASSWORD,
                display_name=name[:20],
                role=Role.COOPERATIVE,
                cooperative_id=coop.id,
            )
        )
        credentials[name] = phone

    for coop_index, name, category, village, unit, shelf, storage, desc, skus in PRODUCTS:
        product = catalog.create_product(
            session,
            staff[coop_index],
            ProductCreate(
                name=name,
                category=category,
                village_id=pk(villages[village]),
                unit=unit,
                shelf_life_days=shelf,
                storage_class=StorageClass(storage),
                description=desc,
                skus=[SkuCreate(spec=s, price_fen=p, stock=q, weight_g=w) for s, p, q, w in skus],
            ),
        )
        catalog.add_photo(
            session, staff[coop_index], pk(product), sample_photo(category, len(name))
        )
        _publish(session, product)
    session.flush()
    # Imported here: the trace seed builds on the catalogue created above.
    from farmgate.demo.trace_seed import COURIER_PHONE, seed_trace

    credentials["村级配送员"] = COURIER_PHONE
    seed_trace(session, DEMO_PASSWORD)
    from farmgate.demo.stations_seed import seed_stations

    credentials.update(seed_stations(session, township, DEMO_PASSWORD))
    from farmgate.demo.sales_seed import seed_sales

    seed_sales(session)  # sample order history for the dashboards
    from farmgate.demo.ledger_seed import seed_ledger

    seed_ledger(session)  # the history in the ledger, settled, last month paid out

    from farmgate.demo.reviews_seed import seed_reviews

    seed_reviews(session)  # sample buyers' reviews of the chilli, with its lot
    return credentials


_PALETTE = {
    "dried_goods": ((178, 34, 34), (230, 80, 40)),
    "aquatic": ((40, 110, 150), (170, 210, 220)),
    "grain_oil": ((200, 160, 60), (245, 225, 150)),
    "meat_eggs": ((140, 70, 40), (240, 220, 190)),
}


def sample_photo(category: str, seed: int) -> bytes:
    """A plain illustrated placeholder (sample data has no real photos), as a JPEG upload."""
    import io

    from PIL import Image, ImageDraw

    background, accent = _PALETTE.get(category, ((90, 120, 60), (200, 220, 160)))
    img = Image.new("RGB", (960, 720), background)
    draw = ImageDraw.Draw(img)
    for i in range(6):
        x = 120 + (i * 137 + seed * 31) % 700
        y = 140 + (i * 89 + seed * 17) % 420
        draw.ellipse((x, y, x + 160, y + 90), fill=accent)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _publish(session: Session, product: Product) -> None:
    product.status = ProductStatus.PUBLISHED
    product.published_at = utcnow()
    session.add(product)
