"""CSV bulk import: all rows or none, every bad row reported by its line number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from farmgate.catalog.importer import import_products
from farmgate.errors import PermissionDenied, ValidationFailed
from farmgate.models import Cooperative, Product, Role, Sku, Township, Village
from tests.support import factories as f

HEADER = "商品名称,类目,产地村,单位,保质期天数,储存方式,商品描述,规格,价格（元）,库存,重量（克）\n"
GOOD = HEADER + (
    "干红辣椒,干货调味,谭家场,斤,365,常温,日晒风干,500g 袋装,38,100,550\n"
    "干红辣椒,干货调味,谭家场,斤,365,常温,日晒风干,1kg 袋装,12.5,20,1080\n"
    "稻花鱼,水产,高坪,条,7,冷藏,稻田养殖,单条,35,10,600\n"
)


def counts(session: Session) -> tuple[int, int]:
    session.expire_all()
    return session.query(Product).count(), session.query(Sku).count()


def failure(session: Session, staff: Any, csv_text: str | bytes) -> ValidationFailed:
    data = csv_text.encode() if isinstance(csv_text, str) else csv_text
    with pytest.raises(ValidationFailed) as caught:
        import_products(session, staff, data)
    session.rollback()  # what the API and the CLI do with the raised error
    return caught.value


@pytest.fixture
def staff(session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    account = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    session.commit()
    return account


# --- good files -------------------------------------------------------------------------


def test_good_csv_groups_rows_into_products_with_exact_prices(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    result = import_products(session, staff, GOOD.encode("utf-8-sig"))
    assert (len(result.products), result.skus) == (2, 3)
    session.commit()
    assert counts(session) == (2, 3)

    chilli = session.query(Product).filter_by(name="干红辣椒").one()
    village = session.get(Village, chilli.village_id)
    assert village is not None and village.name == "谭家场"
    assert chilli.cooperative_id == staff.cooperative_id
    assert (chilli.status, chilli.category, chilli.unit) == ("draft", "dried_goods", "斤")
    assert (chilli.shelf_life_days, chilli.storage_class, chilli.description) == (
        365,
        "ambient",
        "日晒风干",
    )
    skus = {s.spec: s for s in session.query(Sku).filter_by(product_id=chilli.id)}
    assert set(skus) == {"500g 袋装", "1kg 袋装"}
    assert (skus["500g 袋装"].price_fen, skus["500g 袋装"].stock) == (3800, 100)
    assert (skus["1kg 袋装"].price_fen, skus["1kg 袋装"].weight_g) == (1250, 1080)
    assert all(isinstance(s.price_fen, int) for s in skus.values())

    fish = session.query(Product).filter_by(name="稻花鱼").one()
    assert (fish.category, fish.storage_class, fish.unit) == ("aquatic", "chilled", "条")
    assert [s.price_fen for s in session.query(Sku).filter_by(product_id=fish.id)] == [3500]


@pytest.mark.parametrize(
    ("price", "fen"),
    [
        ("12.5", 1250),
        ("0.1", 10),
        ("19.99", 1999),
        ("1.15", 115),
        ("¥8.80", 880),
        ("1,280", 128000),
    ],
)
def test_prices_in_yuan_become_exact_fen(session: Session, staff, price: str, fen: int) -> None:  # type: ignore[no-untyped-def]
    row = f'米酒,茶饮,高坪,瓶,365,常温,,500ml,"{price}",5,600\n'
    import_products(session, staff, (HEADER + row).encode())
    assert session.query(Sku).one().price_fen == fen


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_excel_encodings_import_too(session: Session, staff, encoding: str) -> None:  # type: ignore[no-untyped-def]
    data = GOOD.replace("\n", "\r\n").encode(encoding)  # Excel writes CRLF
    if encoding.startswith("gb"):
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # really not UTF-8
    result = import_products(session, staff, data)
    assert (len(result.products), result.skus) == (2, 3)
    names = {p.name for p in session.query(Product)}
    assert names == {"干红辣椒", "稻花鱼"}
    specs = {s.spec for s in session.query(Sku)}
    assert specs == {"500g 袋装", "1kg 袋装", "单条"}
    assert session.query(Product).filter_by(name="稻花鱼").one().description == "稻田养殖"


def test_optional_columns_and_blank_lines(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    """Storage and description may be left out; blank lines are skipped."""
    csv_text = (
        "商品名称,类目,产地村,单位,保质期天数,规格,价格(元),库存,重量(克)\n"
        "\n"
        "土鸡蛋,肉禽蛋品,高坪,枚,30,30枚装,45,10,2000\n"
        ",,,,,,,,\n"
    )
    result = import_products(session, staff, csv_text.encode())
    assert len(result.products) == 1
    eggs = result.products[0]
    assert (eggs.storage_class, eggs.description) == ("ambient", "")


def test_english_headers_and_codes_are_accepted(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    csv_text = (
        "name,category,village,unit,shelf_life_days,storage_class,spec,price_yuan,stock,weight_g\n"
        "腊肉,meat_eggs,高坪,斤,180,frozen,500g,68,10,550\n"
    )
    result = import_products(session, staff, csv_text.encode())
    assert (result.products[0].category, result.products[0].storage_class) == (
        "meat_eggs",
        "frozen",
    )


# --- bad files: every bad row reported, nothing created ---------------------------------


def test_every_bad_row_is_reported_and_nothing_is_imported(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    bad = HEADER + (
        "好辣椒,干货调味,谭家场,斤,365,常温,,500g,38,10,550\n"  # line 2: fine
        "腊肉,肉禽蛋品,不存在村,斤,180,常温,,500g,68,10,550\n"  # 3: unknown village
        "茶油,粮油米面,高坪,瓶,540,常温,,500ml,88.123,10,700\n"  # 4: 3 decimals
        "土鸡蛋,肉禽蛋品,高坪,枚,30,常温,,30枚,45,-3,2000\n"  # 5: negative stock
        "大米,粮油米面,高坪,袋,一年,常温,,5kg,68,10,5100\n"  # 6: shelf life not a number
        "山货,奇怪类目,高坪,件,30,常温,,一件,10,1,100\n"  # 7: unknown category
        "好辣椒,干货调味,谭家场,斤,365,常温,,500g,40,10,550\n"  # 8: duplicate spec
        "稻花鱼,水产,高坪,条,7,冷藏,,单条,35,10,600\n"  # 9: fine
    )
    before = counts(session)
    error = failure(session, staff, bad)
    assert error.code == "import_failed" and error.status == 422
    assert error.message == "共有6行有错误，未导入任何商品"
    fields = error.fields
    assert set(fields) == {f"line {n}" for n in (3, 4, 5, 6, 7, 8)}
    assert fields["line 3"] == "产地村「不存在村」不在本乡"
    assert fields["line 4"] == "价格最多保留两位小数"
    assert fields["line 5"] == "库存：不能小于0"
    assert fields["line 6"] == "保质期天数应为整数"
    assert fields["line 7"] == "类目「奇怪类目」无效"
    assert fields["line 8"] == "规格「500g」重复"
    assert counts(session) == before  # not even the good rows


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",干货调味,谭家场,斤,365,常温,,500g,38,10,550", "商品名称不能为空"),
        ("辣椒,干货调味,谭家场,斤,365,常温,,500g,0,10,550", "价格必须大于0"),
        ("辣椒,干货调味,谭家场,斤,365,常温,,500g,-5,10,550", "价格必须大于0"),
        ("辣椒,干货调味,谭家场,斤,365,常温,,500g,三十八,10,550", "价格格式不正确"),
        ("辣椒,干货调味,谭家场,斤,365,常温,,500g,38,10,0.5", "重量（克）应为整数"),
        ("辣椒,干货调味,谭家场,斤,365,常温,,500g,38,十,550", "库存应为整数"),
        ("辣椒,干货调味,谭家场,斤,365,常热,,500g,38,10,550", "储存方式应为 常温、冷藏 或 冷冻"),
        ("辣椒,干货调味,谭家场,吨,365,常温,,500g,38,10,550", "单位：单位无效"),
        ("辣椒,干货调味,谭家场,斤,0,常温,,500g,38,10,550", "保质期天数：不能小于1"),
        ("辣椒,干货调味,谭家场,斤,365,常温,,,38,10,550", "规格：必填"),
        ("辣椒,干货调味,谭家场,斤,365,常温,,500g,2000000,10,550", "价格（元）：不能大于"),
    ],
    ids=[
        "no-name",
        "zero-price",
        "negative-price",
        "price-in-words",
        "fractional-weight",
        "stock-in-words",
        "unknown-storage",
        "unknown-unit",
        "zero-shelf-life",
        "no-spec",
        "price-too-high",
    ],
)
def test_each_kind_of_bad_row_is_explained(session: Session, staff, row: str, message: str) -> None:  # type: ignore[no-untyped-def]
    error = failure(
        session, staff, HEADER + "大米,粮油米面,高坪,袋,365,常温,,5kg,68,10,5100\n" + row
    )
    assert list(error.fields) == ["line 3"]
    assert error.fields["line 3"].startswith(message)
    assert counts(session) == (0, 0)


def test_rows_of_one_product_must_agree(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    csv_text = HEADER + (
        "干红辣椒,干货调味,谭家场,斤,365,常温,,500g,38,100,550\n"
        "干红辣椒,干货调味,高坪,斤,365,常温,,1kg,70,20,1080\n"
    )
    assert failure(session, staff, csv_text).fields == {"line 3": "与第2行同名商品的信息不一致"}


def test_line_numbers_count_blank_lines(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    csv_text = HEADER + "\n\n" + "辣椒,干货调味,谭家场,斤,365,常温,,500g,abc,1,1\n"
    assert list(failure(session, staff, csv_text).fields) == ["line 4"]


def test_a_name_the_cooperative_already_uses_is_refused(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    import_products(session, staff, GOOD.encode())
    session.commit()
    before = counts(session)
    again = HEADER + (
        "新产品,干货调味,谭家场,斤,365,常温,,500g,38,10,550\n"
        "稻花鱼,水产,高坪,条,7,冷藏,稻田养殖,大条,50,10,900\n"
    )
    error = failure(session, staff, again)
    assert error.message == "共有1行有错误，未导入任何商品"
    assert error.fields == {"line 3": "已存在同名商品「稻花鱼」"}
    assert counts(session) == before  # 新产品 was not created either


def test_another_cooperatives_names_do_not_clash(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    coop = session.get(Cooperative, staff.cooperative_id)
    township = session.get(Township, coop.township_id)  # type: ignore[union-attr]
    other_coop = f.create_cooperative(session, township, name="另一个合作社")  # type: ignore[arg-type]
    other = f.create_account(session, role=Role.COOPERATIVE, cooperative=other_coop)
    import_products(session, other, GOOD.encode())
    assert len(import_products(session, staff, GOOD.encode()).products) == 2
    assert counts(session) == (4, 6)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("商品名称,规格", "类目、产地村、单位、保质期天数、价格（元）、库存、重量（克）"),
        (HEADER.replace(",库存", ""), "库存"),
        (HEADER.replace("价格（元）", "单价"), "价格（元）"),
    ],
)
def test_missing_header_columns_are_named(
    session: Session, staff, header: str, missing: str
) -> None:  # type: ignore[no-untyped-def]
    error = failure(session, staff, header.rstrip("\n") + "\n辣椒,500g\n")
    assert error.code == "bad_header"
    assert error.message == "表头缺少列：" + missing
    assert "line 1" in error.fields
    assert counts(session) == (0, 0)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (HEADER.encode(), "empty_file"),
        ("商品名称\n".encode("utf-16"), "bad_encoding"),
        # A quote never closed swallows the rest of the file into one huge cell.
        (
            (HEADER + '辣椒,干货调味,谭家场,斤,365,常温,"' + "很长的描述" * 30000).encode(),
            "bad_csv",
        ),
    ],
    ids=["empty", "header-only", "utf-16", "unclosed-quote"],
)
def test_unusable_files_are_refused_clearly(
    session: Session, staff, data: bytes, code: str
) -> None:  # type: ignore[no-untyped-def]
    error = failure(session, staff, data)
    assert error.code == code and error.status == 422
    assert counts(session) == (0, 0)


def test_only_cooperative_staff_can_import(session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    consumer = f.create_account(session)
    with pytest.raises(PermissionDenied):
        import_products(session, consumer, GOOD.encode())


# --- the API ----------------------------------------------------------------------------


def _post(client, headers, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/my/products/import",
        files={"file": ("p.csv", data, "text/csv")},
        headers=headers,
    )


def test_import_through_the_api(client, session: Session, staff) -> None:  # type: ignore[no-untyped-def]
    headers = f.auth_headers(session, staff)
    response = _post(client, headers, GOOD.encode("gb18030"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["products_created"], body["skus_created"]) == (2, 3)
    session.expire_all()
    names = {session.get(Product, pid).name for pid in body["product_ids"]}  # type: ignore[union-attr]
    assert names == {"干红辣椒", "稻花鱼"}

    mine = client.get("/api/v1/my/products", headers=headers).json()
    assert {p["name"] for p in mine} == {"干红辣椒", "稻花鱼"}
    assert all(p["status"] == "draft" for p in mine)


def test_a_bad_file_through_the_api_reports_lines_and_creates_nothing(  # type: ignore[no-untyped-def]
    client, session: Session, staff
) -> None:
    headers = f.auth_headers(session, staff)
    bad = HEADER + (
        "好辣椒,干货调味,谭家场,斤,365,常温,,500g,38,10,550\n"
        "x,干货调味,谭家场,斤,0,常温,,a,1,1,1\n"
        "y,干货调味,谭家场,斤,30,常温,,a,1.001,1,1\n"
    )
    response = _post(client, headers, bad.encode())
    assert response.status_code == 422
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == "import_failed"
    assert set(error["fields"]) == {"line 3", "line 4"}
    assert counts(session) == (0, 0)


@pytest.mark.parametrize(("who", "status"), [("consumer", 403), ("nobody", 401)])
def test_the_api_needs_cooperative_staff(client, session: Session, staff, who, status) -> None:  # type: ignore[no-untyped-def]
    headers = f.auth_headers(session, f.create_account(session)) if who == "consumer" else {}
    assert _post(client, headers, GOOD.encode()).status_code == status
    assert counts(session) == (0, 0)


# --- the CLI ----------------------------------------------------------------------------


@pytest.fixture
def cli_staff(committed_db: Engine) -> str:
    """A cooperative staff account in a really committed database the CLI's engine uses."""
    from farmgate.db import session_scope

    with session_scope() as session:
        township = f.create_township(session)
        coop = f.create_cooperative(session, township)
        return f.create_account(session, role=Role.COOPERATIVE, cooperative=coop).phone


def _cli(*args: str):  # type: ignore[no-untyped-def]
    from farmgate.cli import app

    return CliRunner().invoke(app, ["import", *args])


def _committed_counts() -> tuple[int, int]:
    from farmgate.db import session_scope

    with session_scope() as session:
        return session.query(Product).count(), session.query(Sku).count()


def test_cli_import_reports_every_bad_line_and_exits_1(cli_staff: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "辣椒,干货调味,谭家场,斤,365,常温,,500g,abc,1,1\n"  # line 2
        + "稻花鱼,水产,高坪,条,7,冷藏,,单条,35,10,600\n"  # line 3: fine
        + "腊肉,肉禽蛋品,不存在村,斤,180,常温,,500g,68,10,550\n",  # line 4
        encoding="gb18030",
    )
    result = _cli(str(bad), "--as", cli_staff)
    assert result.exit_code == 1, result.output
    assert "共有2行有错误，未导入任何商品" in result.output
    assert "line 2: 价格格式不正确" in result.output
    assert "line 4: 产地村「不存在村」不在本乡" in result.output
    assert "line 3" not in result.output
    assert _committed_counts() == (0, 0)


def test_cli_import_of_a_good_file_commits(cli_staff: str, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8-sig")
    result = _cli(str(good), "--as", cli_staff)
    assert result.exit_code == 0, result.output
    assert "Imported 2 products, 3 SKUs" in result.output
    assert _committed_counts() == (2, 3)
    again = _cli(str(good), "--as", cli_staff)  # the names now exist
    assert again.exit_code == 1 and "已存在同名商品" in again.output
    assert _committed_counts() == (2, 3)


@pytest.mark.parametrize(
    ("phone", "message"),
    [("123", "请输入11位中国大陆手机号码"), ("13800000000", "No account with phone 13800000000")],
    ids=["not-a-mobile", "no-such-account"],
)
def test_cli_import_refuses_unknown_staff(
    cli_staff: str, tmp_path: Path, phone: str, message: str
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    result = _cli(str(good), "--as", phone)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert message in result.output
    assert _committed_counts() == (0, 0)


def test_cli_import_needs_an_existing_file(cli_staff: str, tmp_path: Path) -> None:
    result = _cli(str(tmp_path / "missing.csv"), "--as", cli_staff)
    assert result.exit_code == 2
