"""Plain factory functions for tests: explicit arguments, no hidden state."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from farmgate.accounts import service as accounts
from farmgate.catalog import service as catalog
from farmgate.catalog.schemas import ProductCreate, SkuCreate
from farmgate.db import utcnow
from farmgate.models import (
    Account,
    Cooperative,
    CooperativeStatus,
    Product,
    ProductStatus,
    Role,
    Sku,
    Township,
    Village,
)
from farmgate.validators import uscc_check_char

PASSWORD = "correct horse 1"
_serial = itertools.count(1)
_phones = itertools.count(13900000000)


def next_phone() -> str:
    return str(next(_phones))


def valid_uscc(serial: int | None = None) -> str:
    body = f"93431223MA4{(serial or next(_serial)):06d}"
    return body + uscc_check_char(body)


def create_township(session: Session, villages: tuple[str, ...] = ("谭家场", "高坪")) -> Township:
    township = Township(
        code="431223222", name="谭家场乡", county="辰溪县", city="怀化市", province="湖南省"
    )
    session.add(township)
    session.flush()
    for name in villages:
        session.add(Village(township_id=township.id, name=name))
    session.flush()
    return township


def first_village(session: Session, township: Township) -> Village:
    return session.query(Village).filter_by(township_id=township.id).order_by(Village.id).first()  # type: ignore[return-value]


def create_cooperative(
    session: Session,
    township: Township,
    *,
    status: CooperativeStatus = CooperativeStatus.APPROVED,
    name: str = "示例合作社",
) -> Cooperative:
    coop = Cooperative(
        township_id=township.id,  # type: ignore[arg-type]
        village_id=first_village(session, township).id,  # type: ignore[arg-type]
        name=name,
        uscc=valid_uscc(),
        contact_name="张三",
        contact_phone=next_phone(),
        status=status,
        bank_account_no="6222020200112233445",
        approved_at=utcnow() if status == CooperativeStatus.APPROVED else None,
    )
    session.add(coop)
    session.flush()
    return coop


def create_account(
    session: Session, *, role: Role = Role.CONSUMER, cooperative: Cooperative | None = None
) -> Account:
    return accounts.create_account(
        session,
        phone=next_phone(),
        password=PASSWORD,
        role=role,
        cooperative_id=cooperative.id if cooperative else None,
    )


def auth_headers(session: Session, account: Account) -> dict[str, str]:
    issued = accounts.issue_token(session, account, "api")
    session.commit()
    return {"Authorization": f"Bearer {issued.token}"}


def product_data(village: Village, **overrides: object) -> ProductCreate:
    data: dict[str, object] = {
        "name": "干红辣椒",
        "category": "dried_goods",
        "village_id": village.id,
        "unit": "斤",
        "shelf_life_days": 365,
        "skus": [SkuCreate(spec="500g", price_fen=3800, stock=10, weight_g=550)],
    }
    data.update(overrides)
    return ProductCreate(**data)  # type: ignore[arg-type]


def create_product(
    session: Session,
    staff: Account,
    village: Village,
    *,
    published: bool = True,
    **overrides: object,
) -> Product:
    product = catalog.create_product(session, staff, product_data(village, **overrides))
    if published:
        product.status = ProductStatus.PUBLISHED
        product.published_at = utcnow()
        session.add(product)
        session.flush()
    return product


def login_browser(client, session: Session, account: Account) -> None:  # type: ignore[no-untyped-def]
    """Sign ``account`` in through the login page, as a browser would (cookies on ``client``)."""
    import re

    session.commit()
    client.cookies.clear()
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    signed_in = client.post(
        "/login",
        data={"phone": account.phone, "password": PASSWORD, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text


# A delivery address in 谭家场乡 that checkout accepts.
ADDRESS = {
    "recipient": "李四",
    "phone": "13912345678",
    "province": "湖南省",
    "city": "怀化市",
    "county": "辰溪县",
    "township": "谭家场乡",
    "village": "高坪村",
    "address_detail": "3组12号",
    "delivery_method": "courier",
}


def stock_of(session: Session, sku_id: int) -> int:
    """A SKU's stock as the database has it now."""
    session.expire_all()
    return session.get(Sku, sku_id).stock  # type: ignore[union-attr]
