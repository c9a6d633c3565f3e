"""The cooperative desk's product pages, through HTML forms alone (no JavaScript)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import Product, ProductPhoto, ProductStatus, Role, Sku
from tests.support import factories as f


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _jpeg(color: tuple[int, int, int] = (180, 40, 30), size: tuple[int, int] = (800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def _coop(session: Session, name: str = "红辣椒合作社"):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township, name=name)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    return township, coop, staff


NEW_PRODUCT = {
    "name": "谭家场干红辣椒",
    "category": "dried_goods",
    "unit": "斤",
    "shelf_life_days": "365",
    "storage_class": "ambient",
    "description": "自家晒的辣椒",
    "spec_1": "500克袋装",
    "price_1": "12.5",
    "stock_1": "100",
    "weight_g_1": "550",
    "spec_2": "2.5千克礼盒",
    "price_2": "６０",  # full-width digits, as a Chinese keyboard may type them
    "stock_2": "20",
    "weight_g_2": "2800",
}


def _signed_in(client, session: Session):  # type: ignore[no-untyped-def]
    township, coop, staff = _coop(session)
    f.login_browser(client, session, staff)
    return township, coop, staff


def test_sign_in_lands_on_the_desk_and_a_product_with_two_skus_is_created(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    township, coop, staff = _coop(session)
    session.commit()
    page = client.get("/login")
    landed = client.post(
        "/login",
        data={"phone": staff.phone, "password": f.PASSWORD, "csrf_token": _csrf(page.text)},
    )
    assert landed.status_code == 200 and landed.url.path == "/coop/products"
    assert "红辣椒合作社" in landed.text and "还没有商品" in landed.text
    for label in ("商品", "批次与溯源", "订单", "资金/销售", "合作社资料"):
        assert f">{label}</a>" in landed.text

    form = client.get("/coop/products/new")
    village = f.first_village(session, township)
    assert f'<option value="{village.id}">{village.name}</option>' in form.text
    created = client.post(
        "/coop/products/new",
        data={**NEW_PRODUCT, "village_id": str(village.id), "csrf_token": _csrf(form.text)},
    )
    assert created.status_code == 200 and "商品已保存为草稿" in created.text
    product = session.query(Product).filter_by(cooperative_id=coop.id).one()
    assert product.status == ProductStatus.DRAFT and product.village_id == village.id
    skus = {s.spec: s for s in session.query(Sku).filter_by(product_id=product.id)}
    assert skus["500克袋装"].price_fen == 1250 and skus["500克袋装"].weight_g == 550
    assert skus["2.5千克礼盒"].price_fen == 6000 and skus["2.5千克礼盒"].stock == 20

    listing = client.get("/coop/products")
    assert "谭家场干红辣椒" in listing.text and "草稿" in listing.text and "¥12.50" in listing.text

    # The same form sent again (a double tap on a slow network) makes nothing new.
    again = client.post(
        "/coop/products/new",
        data={**NEW_PRODUCT, "village_id": str(village.id), "csrf_token": _csrf(form.text)},
    )
    assert again.status_code == 422 and "已经有一件叫「谭家场干红辣椒」的商品了" in again.text
    assert session.query(Product).filter_by(cooperative_id=coop.id).count() == 1


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("name", "", "请填写商品名称"),
        ("price_1", "-3", "价格必须大于0"),
        ("stock_1", "一百", "库存只能填整数"),
        ("price_1", "12.505", "价格最多填到分"),
        ("price_2", "abc", "价格只能填数字"),
        ("shelf_life_days", "0", "保质期不能小于 1"),
    ],
)
def test_a_wrong_field_is_shown_beside_it_and_everything_typed_is_kept(
    client, session: Session, field: str, typed: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    township, _c, _s = _signed_in(client, session)
    form = client.get("/coop/products/new")
    village = f.first_village(session, township)
    sent = {**NEW_PRODUCT, "village_id": str(village.id), field: typed}
    response = client.post("/coop/products/new", data={**sent, "csrf_token": _csrf(form.text)})
    assert response.status_code == 422
    html = response.text
    # In the summary, linking to the field...
    assert re.search(rf'<a href="#{field}">[^<]*{re.escape(message)}', html)
    # ...and beside it, with the field marked.
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', html)
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html)
    if field[-1].isdigit():  # three SKU rows share field names: the message says which row
        assert f"规格 {field[-1]}：{message}" in html
    for key in ("description", "spec_2", "stock_2", "weight_g_2"):
        assert f'value="{sent[key]}"' in html or f">{sent[key]}</textarea>" in html
    assert f'<option value="{village.id}" selected>' in html
    assert session.query(Product).count() == 0


def test_no_sku_and_a_duplicate_spec_are_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township, _c, _s = _signed_in(client, session)
    form = client.get("/coop/products/new")
    base = {**NEW_PRODUCT, "village_id": str(f.first_village(session, township).id)}
    empty = {k: ("" if k[-2:] in ("_1", "_2") else v) for k, v in base.items()}
    response = client.post("/coop/products/new", data={**empty, "csrf_token": _csrf(form.text)})
    assert response.status_code == 422 and "请至少填写一个规格" in response.text
    twice = {**base, "spec_2": base["spec_1"]}
    response = client.post("/coop/products/new", data={**twice, "csrf_token": _csrf(form.text)})
    assert response.status_code == 422 and "规格名称和第1行重复" in response.text
    assert session.query(Product).count() == 0


def test_editing_a_published_product_warns_first_and_then_sends_it_to_review(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    township, _c, staff = _signed_in(client, session)
    product = f.create_product(session, staff, f.first_village(session, township))
    session.commit()
    page = client.get(f"/coop/products/{product.id}")
    assert 'id="review-notice"' in page.text and "保存并重新提交审核" in page.text
    sku = session.query(Sku).filter_by(product_id=product.id).one()

    # Price and stock: live at once, still published.
    saved = client.post(
        f"/coop/products/{product.id}/skus/{sku.id}",
        data={
            "spec": "500g",
            "price": "39.9",
            "stock": "25",
            "weight_g": "550",
            "stock_was": "10",
            "csrf_token": _csrf(page.text),
        },
    )
    assert saved.status_code == 200 and "价格和库存已生效" in saved.text
    session.refresh(sku)
    session.refresh(product)
    assert (sku.price_fen, sku.stock, product.status) == (3990, 25, ProductStatus.PUBLISHED)

    values = {
        "name": "干红辣椒（新晒）",
        "category": product.category,
        "village_id": str(product.village_id),
        "unit": product.unit,
        "shelf_life_days": "365",
        "storage_class": "ambient",
        "description": "",
    }
    edited = client.post(
        f"/coop/products/{product.id}", data={**values, "csrf_token": _csrf(page.text)}
    )
    assert "商品已转为「待审核」" in edited.text
    session.refresh(product)
    assert product.status == ProductStatus.PENDING_REVIEW and product.name == "干红辣椒（新晒）"
    assert 'id="review-notice"' not in client.get(f"/coop/products/{product.id}").text


def test_skus_are_added_edited_and_deactivated_on_the_product_page(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    township, _c, staff = _signed_in(client, session)
    product = f.create_product(session, staff, f.first_village(session, township), published=False)
    session.commit()
    url = f"/coop/products/{product.id}"
    token = _csrf(client.get(url).text)
    bad = client.post(
        f"{url}/skus",
        data={
            "spec": "礼盒",
            "price": "1.234",
            "stock": "x",
            "weight_g": "900",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert 'id="price-new-error"' in bad.text and 'id="stock-new-error"' in bad.text
    assert 'value="礼盒"' in bad.text
    added = client.post(
        f"{url}/skus",
        data={"spec": "礼盒", "price": "88", "stock": "5", "weight_g": "900", "csrf_token": token},
    )
    assert "规格已添加" in added.text and "库存不多" in added.text
    gift = session.query(Sku).filter_by(product_id=product.id, spec="礼盒").one()
    assert gift.price_fen == 8800

    # Each SKU is changed on its own page, from the product page's "修改" link.
    assert f'href="{url}/skus/{gift.id}"' in client.get(url).text
    page = client.get(f"{url}/skus/{gift.id}")
    assert 'value="88.00"' in page.text and 'name="stock_was" value="5"' in page.text
    wrong = client.post(
        f"{url}/skus/{gift.id}",
        data={"spec": "", "price": "0", "stock": "5", "weight_g": "900", "csrf_token": token},
    )
    assert wrong.status_code == 422
    assert 'id="spec-error"' in wrong.text and "价格必须大于0" in wrong.text

    # The stock changed (an order) after the page was loaded: not overwritten.
    gift.stock = 3
    session.commit()
    stale = client.post(
        f"{url}/skus/{gift.id}",
        data={
            "spec": "礼盒",
            "price": "88",
            "stock": "50",
            "weight_g": "900",
            "stock_was": "5",
            "csrf_token": token,
        },
    )
    assert stale.status_code == 422 and "库存已变为 3" in stale.text
    session.refresh(gift)
    assert gift.stock == 3

    off = client.post(f"{url}/skus/{gift.id}/deactivate", data={"csrf_token": token})
    assert "已停售" in off.text
    session.refresh(gift)
    assert not gift.is_active
    client.post(f"{url}/skus/{gift.id}/activate", data={"csrf_token": token})
    session.refresh(gift)
    assert gift.is_active


def test_quick_actions_submit_withdraw_and_delist(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township, _c, staff = _signed_in(client, session)
    product = f.create_product(session, staff, f.first_village(session, township), published=False)
    session.commit()
    token = _csrf(client.get("/coop/products").text)
    done = client.post(f"/coop/products/{product.id}/submit", data={"csrf_token": token})
    assert "已提交审核" in done.text and "待审核" in done.text
    twice = client.post(f"/coop/products/{product.id}/submit", data={"csrf_token": token})
    assert twice.status_code == 200 and "已提交审核" in twice.text
    client.post(f"/coop/products/{product.id}/withdraw", data={"csrf_token": token})
    session.refresh(product)
    assert product.status == ProductStatus.DRAFT
    # Delisting a draft is not allowed: said on the list, nothing changes.
    refused = client.post(f"/coop/products/{product.id}/delist", data={"csrf_token": token})
    assert refused.status_code == 409 and "不能下架" in refused.text
    product.review_note = "图片不清楚"
    session.commit()
    listing = client.get("/coop/products")
    assert "未通过审核" in listing.text and "乡镇意见：图片不清楚" in listing.text


def _photos(session: Session, product_id: int) -> list[ProductPhoto]:
    return (
        session.query(ProductPhoto)
        .filter_by(product_id=product_id)
        .order_by(ProductPhoto.position)
        .all()
    )


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _photos_form(client, session: Session) -> tuple[Product, str, str]:  # type: ignore[no-untyped-def]
    """A signed-in cooperative's new product: the product, its photos page and a form token."""
    township, _c, staff = _signed_in(client, session)
    product = f.create_product(session, staff, f.first_village(session, township))
    session.commit()
    url = f"/coop/products/{product.id}/photos"
    return product, url, _csrf(client.get(url).text)


def test_photos_upload_reorder_cover_and_delete(client, session: Session, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
    product, url, token = _photos_form(client, session)
    uploaded = client.post(
        url,
        data={"csrf_token": token},
        files=[
            ("photos", ("a.jpg", _jpeg((200, 0, 0)), "image/jpeg")),
            ("photos", ("b.jpg", _jpeg((0, 200, 0)), "image/jpeg")),
            ("photos", ("", b"", "application/octet-stream")),  # the empty camera input
        ],
    )
    assert uploaded.status_code == 200 and "照片已上传" in uploaded.text
    first, second = _photos(session, product.id)
    assert len(_files(media_dir)) == 6  # three variants each

    client.post(f"{url}/{second.id}/up", data={"csrf_token": token})
    assert [p.id for p in _photos(session, product.id)] == [second.id, first.id]
    client.post(f"{url}/{first.id}/cover", data={"csrf_token": token})
    assert [p.id for p in _photos(session, product.id)] == [first.id, second.id]
    client.post(f"{url}/{first.id}/down", data={"csrf_token": token})
    assert [p.id for p in _photos(session, product.id)] == [second.id, first.id]

    confirm = client.get(f"{url}/{first.id}/delete")
    assert "确定删除这张照片" in confirm.text
    deleted = client.post(f"{url}/{first.id}/delete", data={"csrf_token": token})
    assert "照片已删除" in deleted.text
    assert [p.id for p in _photos(session, product.id)] == [second.id]
    assert len(_files(media_dir)) == 3  # the deleted photo's files are gone too


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("说明书.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "文件不是有效的图片"),
        ("big.jpg", b"\xff\xd8\xff" + b"0" * (9 * 1024 * 1024), "图片不能超过 8 MB"),
    ],
)
def test_a_bad_photo_is_refused_beside_the_field_and_nothing_is_kept(
    client, session: Session, media_dir: Path, name: str, data: bytes, message: str
) -> None:  # type: ignore[no-untyped-def]
    product, url, token = _photos_form(client, session)
    response = client.post(
        url,
        data={"csrf_token": token},
        files=[
            ("photos", ("good.jpg", _jpeg(), "image/jpeg")),
            ("photos", (name, data, "image/jpeg")),
        ],
    )
    assert response.status_code == 422
    assert re.search(rf'id="photos-error">第2张（{re.escape(name)}）：{message}', response.text)
    assert _photos(session, product.id) == [] and _files(media_dir) == []


def test_a_full_disk_is_said_beside_the_field_and_nothing_is_kept(
    client, session: Session, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import os

    product, url, token = _photos_form(client, session)
    real_replace = os.replace

    def full_after_the_first_photo(src: str, dst: str) -> None:
        if str(dst).endswith(".webp") and len(_files(media_dir)) >= 4:  # 3 sizes + 1 temp
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_after_the_first_photo)
    response = client.post(
        url,
        data={"csrf_token": token},
        files=[("photos", (f"{n}.jpg", _jpeg(), "image/jpeg")) for n in ("a", "b")],
    )
    assert response.status_code == 422  # the form again, as for any refused photo
    assert re.search(r'id="photos-error">服务器的存储空间已满', response.text)
    assert _photos(session, product.id) == [] and _files(media_dir) == []


def test_a_50_mb_photo_is_refused_and_nothing_is_kept(
    client, session: Session, media_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    product, url, token = _photos_form(client, session)
    huge = b"\xff\xd8\xff" + b"0" * (50 * 1024 * 1024)
    response = client.post(
        url, data={"csrf_token": token}, files=[("photos", ("huge.jpg", huge, "image/jpeg"))]
    )
    # Refused by the app's body limit before any of it is read; with JavaScript on, the page
    # says so beside the field before sending (tests/e2e/test_coop_desk.py).
    assert response.status_code == 413
    assert _photos(session, product.id) == [] and _files(media_dir) == []


CSV_HEADER = (
    "商品名称,类目,产地村,单位,保质期天数,储存方式,商品描述,规格,价格（元）,库存,重量（克）"
)


def test_csv_import_lists_every_bad_line_and_imports_nothing(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _t, coop, _s = _signed_in(client, session)
    page = client.get("/coop/products/import")
    assert "下载表格模板" in page.text
    template = client.get("/coop/products/import/template.csv")
    assert template.status_code == 200 and template.content.decode("utf-8-sig").startswith(
        CSV_HEADER
    )
    rows = [
        CSV_HEADER,
        "腊肉,干货调味,谭家场,斤,180,常温,,500克,45,10,550",
        "茶油,粮油米面,不存在村,瓶,365,常温,,1升,88,5,1000",
        "山茶,茶饮,高坪,盒,365,常温,,100克,12.345,5,150",
    ]
    bad = client.post(
        "/coop/products/import",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("商品.csv", "\n".join(rows).encode("utf-8"), "text/csv")},
    )
    assert bad.status_code == 422
    assert "第 3 行：产地村「不存在村」不在本乡" in bad.text
    assert re.search(r"第 4 行：[^<]*两位小数", bad.text)
    assert "第 2 行" not in bad.text
    assert session.query(Product).count() == 0

    good = client.post(
        "/coop/products/import",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("商品.csv", "\n".join(rows[:2]).encode("utf-8"), "text/csv")},
    )
    assert good.status_code == 200 and "表格里的商品已导入" in good.text and "腊肉" in good.text
    assert session.query(Product).filter_by(cooperative_id=coop.id).count() == 1

    empty = client.post("/coop/products/import", data={"csrf_token": _csrf(page.text)})
    assert empty.status_code == 422 and "请选择填好的 CSV 文件" in empty.text


def test_restock_sets_every_changed_sku_in_one_form(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township, _c, staff = _signed_in(client, session)
    village = f.first_village(session, township)
    one = f.create_product(session, staff, village, name="腊肉")
    two = f.create_product(session, staff, village, name="茶油")
    session.commit()
    a = session.query(Sku).filter_by(product_id=one.id).one()
    b = session.query(Sku).filter_by(product_id=two.id).one()
    page = client.get("/coop/products/restock")
    assert f'id="stock-{a.id}"' in page.text and f'id="stock-{b.id}"' in page.text
    token = _csrf(page.text)
    form = {
        f"stock-{a.id}": "40",
        f"was-{a.id}": "10",
        f"stock-{b.id}": "abc",
        f"was-{b.id}": "10",
        "csrf_token": token,
    }
    bad = client.post("/coop/products/restock", data=form)
    assert bad.status_code == 422 and f'id="stock-{b.id}-error"' in bad.text
    assert 'value="40"' in bad.text and 'value="abc"' in bad.text
    session.refresh(a)
    assert a.stock == 10
    done = client.post("/coop/products/restock", data={**form, f"stock-{b.id}": "10"})
    assert done.status_code == 200 and "库存已更新" in done.text
    session.refresh(a)
    session.refresh(b)
    assert (a.stock, b.stock) == (40, 10)
    # Sent twice: the second finds the stock already set, which is no conflict.
    again = client.post("/coop/products/restock", data={**form, f"stock-{b.id}": "10"})
    assert again.status_code == 200 and "库存已更新" in again.text
    # But an order that sold some since the page was loaded is not overwritten.
    a.stock = 37
    session.commit()
    stale = client.post(
        "/coop/products/restock", data={**form, f"stock-{a.id}": "50", f"stock-{b.id}": "10"}
    )
    assert stale.status_code == 422 and "腊肉 500g：刚才有订单，库存已变为 37" in stale.text
    session.refresh(a)
    assert a.stock == 37


def _desk_urls(product_id: int, sku_id: int, photo_id: int) -> tuple[list[str], list[str]]:
    p = f"/coop/products/{product_id}"
    gets = [p, f"{p}/photos", f"{p}/skus/{sku_id}", f"{p}/photos/{photo_id}/delete"]
    posts = [
        p,
        f"{p}/submit",
        f"{p}/withdraw",
        f"{p}/delist",
        f"{p}/skus",
        f"{p}/skus/{sku_id}",
        f"{p}/skus/{sku_id}/deactivate",
        f"{p}/skus/{sku_id}/activate",
        f"{p}/photos",
        *(f"{p}/photos/{photo_id}/{a}" for a in ("up", "down", "cover", "delete")),
    ]
    return gets, posts


def test_another_cooperatives_products_skus_and_photos_are_not_found(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    township, _c, staff = _coop(session)
    other_coop = f.create_cooperative(session, township, name="别家合作社")
    other = f.create_account(session, role=Role.COOPERATIVE, cooperative=other_coop)
    village = f.first_village(session, township)
    theirs = f.create_product(session, other, village, name="别家的茶油")
    mine = f.create_product(session, staff, village, name="我家的腊肉")
    their_sku = session.query(Sku).filter_by(product_id=theirs.id).one()
    their_photo = ProductPhoto(
        product_id=theirs.id, position=0, storage_key="x/y", width=10, height=10, widths="320"
    )
    session.add(their_photo)
    session.commit()
    f.login_browser(client, session, staff)
    token = _csrf(client.get("/coop/products").text)
    gets, posts = _desk_urls(theirs.id, their_sku.id, their_photo.id)  # type: ignore[arg-type]
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url
    # Their SKU or photo under my product: not found either.
    mine_gets, mine_posts = _desk_urls(mine.id, their_sku.id, their_photo.id)  # type: ignore[arg-type]
    for url in mine_gets[2:]:  # their SKU's page, their photo's
        assert client.get(url).status_code == 404, url
    for url in mine_posts[5:8] + mine_posts[9:]:
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url
    restock = client.post(
        "/coop/products/restock",
        data={f"stock-{their_sku.id}": "999", f"was-{their_sku.id}": "10", "csrf_token": token},
    )
    assert restock.status_code == 404
    session.refresh(their_sku)
    session.refresh(theirs)
    assert their_sku.stock == 10 and theirs.status == ProductStatus.PUBLISHED
    assert session.query(ProductPhoto).filter_by(product_id=theirs.id).count() == 1
    assert "别家的茶油" not in client.get("/coop/products").text
    assert "别家的茶油" not in client.get("/coop/products/restock").text


DESK_PAGES = [
    "/coop/products",
    "/coop/products/new",
    "/coop/products/import",
    "/coop/products/import/template.csv",
    "/coop/products/restock",
]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COURIER, Role.CONSUMER])
def test_other_roles_are_refused(client, session: Session, role: Role) -> None:  # type: ignore[no-untyped-def]
    township, _c, staff = _coop(session)
    product = f.create_product(session, staff, f.first_village(session, township))
    session.commit()
    f.login_browser(client, session, f.create_account(session, role=role))
    token = _csrf(client.get("/login").text)
    for url in [*DESK_PAGES, f"/coop/products/{product.id}"]:
        assert client.get(url).status_code == 403, url
    for url in ("/coop/products/new", f"/coop/products/{product.id}/delist"):
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url
    session.refresh(product)
    assert product.status == ProductStatus.PUBLISHED


def test_anonymous_visitors_are_sent_to_sign_in(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    for url in DESK_PAGES:
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login?next=")
    assert client.post("/coop/products/new", data={}).status_code in (401, 403)


def test_forms_without_a_csrf_token_are_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township, _c, staff = _signed_in(client, session)
    product = f.create_product(session, staff, f.first_village(session, township), published=False)
    session.commit()
    assert client.post(f"/coop/products/{product.id}/submit", data={}).status_code == 403
    session.refresh(product)
    assert product.status == ProductStatus.DRAFT


def test_every_desk_page_is_under_30_kb(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township, _c, staff = _signed_in(client, session)
    village = f.first_village(session, township)
    products = [
        f.create_product(
            session,
            staff,
            village,
            name=f"商品{i:02d}" + "长" * 40,
            skus=[
                {"spec": f"规格{j}", "price_fen": 1000 + j, "stock": j, "weight_g": 500}
                for j in range(20 if i == 0 else 4)
            ],
        )
        for i in range(25)
    ]
    session.commit()
    product = products[0]
    token = _csrf(client.get("/coop/products").text)
    client.post(
        f"/coop/products/{product.id}/photos",
        data={"csrf_token": token},
        files=[("photos", (f"{i}.jpg", _jpeg(), "image/jpeg")) for i in range(9)],
    )
    photo = _photos(session, product.id)[0]
    product_skus = session.query(Sku).filter_by(product_id=product.id).all()
    pages = [
        *DESK_PAGES[:3],
        DESK_PAGES[4],
        f"/coop/products/{product.id}",
        f"/coop/products/{product.id}/photos",
        f"/coop/products/{product.id}/photos/{photo.id}/delete",
        f"/coop/products/{product.id}/skus/{product_skus[0].id}",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'class="error-message"' not in response.text, url  # no error before sending
        assert len(response.content) <= 30 * 1024, (url, len(response.content))
    assert settings.max_upload_bytes == 8 * 1024 * 1024  # the messages above quote it
