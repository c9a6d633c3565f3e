"""CSV bulk import: all rows or none, every bad row reported by its line number."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from farmgate import db
from farmgate.catalog.importer import import_products
from farmgate.config import settings
from farmgate.errors import ValidationFailed
from farmgate.models import Product, Role, Sku
from tests import factories as f

HEADER = "商品名称,类目,产地村,单位,保质期天数,储存方式,商品描述,规格,价格（元）,库存,重量（克）\n"
GOOD = HEADER + (
    "干红辣椒,干货调味,谭家场,斤,365,常温,日晒风干,500g 袋装,38,100,550\n"
    "干红辣椒,干货调味,谭家场,斤,365,常温,日晒风干,1kg 袋装,12.5,20,1080\n"
    "稻花鱼,水产,高坪,条,7,冷藏,稻田养殖,单条,35,10,600\n"
)


@pytest.fixture
def staff(session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    return f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)


def test_good_csv_groups_rows_into_products_with_exact_prices(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    result = import_products(session, staff, GOOD.encode("utf-8-sig"))
    assert (len(result.products), result.skus) == (2, 3)
    chilli = session.query(Product).filter_by(name="干红辣椒").one()
    assert chilli.status == "draft" and chilli.category == "dried_goods"
    prices = sorted(s.price_fen for s in session.query(Sku).filter_by(product_id=chilli.id))
    assert prices == [1250, 3800]
    fish = session.query(Product).filter_by(name="稻花鱼").one()
    assert fish.storage_class == "chilled"


def test_gbk_files_from_excel_import_too(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    result = import_products(session, staff, GOOD.encode("gb18030"))
    assert len(result.products) == 2


def test_every_bad_row_is_reported_and_nothing_is_imported(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    bad = HEADER + (
        "好辣椒,干货调味,谭家场,斤,365,常温,,500g,38,10,550\n"  # line 2: fine
        "腊肉,肉禽蛋品,不存在村,斤,180,常温,,500g,68,10,550\n"  # 3: unknown village
        "茶油,粮油米面,高坪,瓶,540,常温,,500ml,88.123,10,700\n"  # 4: 3 decimals
        "土鸡蛋,肉禽蛋品,高坪,枚,30,常温,,30枚,45,-3,2000\n"  # 5: negative stock
        "大米,粮油米面,高坪,袋,一年,常温,,5kg,68,10,5100\n"  # 6: shelf life not a number
        "山货,奇怪类目,高坪,件,30,常温,,一件,10,1,100\n"  # 7: unknown category
        "好辣椒,干货调味,谭家场,斤,365,常温,,500g,40,10,550\n"  # 8: duplicate spec
    )
    before = session.query(Product).count()
    with pytest.raises(ValidationFailed) as caught:
        import_products(session, staff, bad.encode())
    fields = caught.value.fields
    assert set(fields) == {f"line {n}" for n in (3, 4, 5, 6, 7, 8)}
    assert "不存在村" in fields["line 3"]
    assert "两位小数" in fields["line 4"]
    assert "stock" in fields["line 5"]
    assert "保质期" in fields["line 6"]
    assert "奇怪类目" in fields["line 7"]
    assert "重复" in fields["line 8"]
    session.rollback()
    assert session.query(Product).count() == before


def test_existing_names_and_missing_columns_are_refused(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    import_products(session, staff, GOOD.encode())
    with pytest.raises(ValidationFailed, match="1行有错误") as caught:
        import_products(session, staff, (HEADER + GOOD.splitlines()[3] + "\n").encode())
    assert "已存在同名商品" in caught.value.fields["line 2"]
    with pytest.raises(ValidationFailed, match="表头缺少列"):
        import_products(session, staff, "商品名称,规格\n辣椒,500g\n".encode())


def test_import_through_the_api(client, session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    headers = f.auth_headers(session, staff)
    response = client.post(
        "/api/v1/my/products/import",
        files={"file": ("p.csv", GOOD.encode(), "text/csv")},
        headers=headers,
    )
    assert response.status_code == 201 and response.json()["products_created"] == 2
    bad = client.post(
        "/api/v1/my/products/import",
        files={
            "file": (
                "p.csv",
                (HEADER + "x,干货调味,谭家场,斤,0,常温,,a,1,1,1\n").encode(),
                "text/csv",
            )
        },
        headers=headers,
    )
    assert bad.status_code == 422 and "line 2" in bad.json()["error"]["fields"]


def test_cli_import_reports_line_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from farmgate.cli import app
    from farmgate.db import session_scope

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db.upgrade_database(url)
    monkeypatch.setattr(db, "_engine", None)
    monkeypatch.setattr(db, "_session_factory", None)
    monkeypatch.setattr(settings, "database_url", url)
    db.set_engine(db.make_engine(url))
    with session_scope() as session:
        township = f.create_township(session)
        coop = f.create_cooperative(session, township)
        phone = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop).phone

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "辣椒,干货调味,谭家场,斤,365,常温,,500g,abc,1,1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(bad), "--as", phone])
    assert result.exit_code == 1
    assert "line 2" in result.output and "价格格式不正确" in result.output

    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(good), "--as", phone])
    assert result.exit_code == 0, result.output
    assert "Imported 2 products, 3 SKUs" in result.output
