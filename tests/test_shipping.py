"""Shipping fees quoted before the order: the rules (zones, weight bands, cold surcharges,
free over an amount, local delivery), the desk's and console's editing pages, the cart and
checkout pages, and the API's quote that checkout charges."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate.errors import ValidationFailed
from farmgate.models import Cooperative, Order, Role, ShippingRule
from farmgate.orders import shipping as fees
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.web import SAME_ORIGIN, csrf_token

RULES = fees.Rules(
    zones=[
        fees.Zone(
            name="省内",
            provinces=["湖南"],
            bands=[
                fees.Band(from_g=0, to_g=1000, fen=600),
                fees.Band(from_g=1000, to_g=2000, fen=900),
            ],
            extra_kg_fen=300,
        ),
        fees.Zone(name="其他", provinces=[], bands=[fees.Band(from_g=0, to_g=2000, fen=2000)]),
    ],
    chilled_fen=800,
    frozen_fen=1200,
    free_over_fen=10000,
    local_fen=300,
)


def _quote(**kw: object) -> fees.ParcelQuote:
    args: dict = {  # type: ignore[type-arg]
        "cooperative_id": 1,
        "method": "courier",
        "province": "湖南省",
        "weight_g": 600,
        "items_fen": 3500,
        "storages": ["ambient"],
        **kw,
    }
    return fees.quote_parcel(RULES, **args)


def test_a_parcel_is_priced_by_zone_band_storage_and_amount() -> None:
    assert _quote().fen == 600
    assert _quote(weight_g=1000).fen == 600 and _quote(weight_g=1001).fen == 900
    assert _quote(weight_g=3500).fen == 900 + 2 * 300  # two started kilograms past 2 kg
    assert (
        _quote(province="广西壮族自治区").zone == "其他" and _quote(province="北京市").fen == 2000
    )
    assert _quote(storages=["ambient", "chilled"]).fen == 600 + 800
    assert _quote(storages=["chilled", "frozen"]).fen == 600 + 1200  # the coldest counts
    free = _quote(items_fen=10000, storages=["chilled"])
    assert free.free and free.fen == 800  # free shipping waives the base fee, not the cold chain
    assert _quote(method="local", storages=["frozen"]).fen == 300
    assert _quote(method="pickup").fen == 0


def test_the_sample_default_is_marked_and_quotes_guangdong_above_hunan() -> None:
    assert fees.DEFAULT_RULES.sample and fees.check(fees.DEFAULT_RULES) == {}
    args = {"cooperative_id": 1, "method": "courier", "weight_g": 600, "items_fen": 3500}
    hunan = fees.quote_parcel(fees.DEFAULT_RULES, province="湖南省", storages=["chilled"], **args)
    canton = fees.quote_parcel(fees.DEFAULT_RULES, province="广东省", storages=["chilled"], **args)
    assert (hunan.fen, canton.fen) == (2500, 2700)


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ("0-1000 8\n900-2000 12", "重量段重叠"),
        ("0-1000 8\n1200-2000 12", "重量段有空档：1000克到1200克"),
        ("100-1000 8", "重量段有空档：0克到100克"),
        ("0-1000 -8", "金额不能是负数"),
        ("0-1000 8.123", "最多填到分"),
        ("0到1000", "看不懂"),
    ],
)
def test_bad_bands_are_refused_beside_their_field(bands: str, message: str) -> None:
    values = {**fees.form_values(RULES), "zone0_bands": bands}
    rules, errors = fees.from_form(values)
    assert rules is None and message in errors["zone0_bands"] and list(errors) == ["zone0_bands"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("chilled", "-1", "负数"), ("local", "2.555", "两位小数"), ("free_over", "abc", "只能填数字")],
)
def test_bad_prices_are_refused(field: str, value: str, message: str) -> None:
    rules, errors = fees.from_form({**fees.form_values(RULES), field: value})
    assert rules is None and message in errors[field]


def test_a_province_in_two_zones_is_refused() -> None:
    values = {**fees.form_values(RULES), "zone1_provinces": "湖南省、广东"}
    assert "湖南省已在「省内」里" in fees.from_form(values)[1]["zone1_provinces"]


def test_the_form_round_trips_and_a_blank_zone_is_ignored() -> None:
    rules, errors = fees.from_form(fees.form_values(RULES))
    assert errors == {} and rules is not None
    assert rules.model_dump() == RULES.model_dump()


def test_cooperative_rules_override_the_township_default(session: Session) -> None:
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    assert fees.rules_for(session, coop).sample  # nothing stored: the built-in sample
    default = RULES.model_copy(update={"local_fen": 400})
    fees.save(session, default, None, township_id=township.id)
    assert fees.rules_for(session, coop).local_fen == 400
    fees.save(session, RULES, None, cooperative_id=coop.id)
    assert fees.rules_for(session, coop).local_fen == 300
    bad = RULES.model_copy(
        update={
            "zones": [
                fees.Zone(
                    name="全国",
                    bands=[
                        fees.Band(from_g=0, to_g=500, fen=1),
                        fees.Band(from_g=400, to_g=900, fen=2),
                    ],
                )
            ]
        }
    )
    with pytest.raises(ValidationFailed) as refused:
        fees.save(session, bad, None, cooperative_id=coop.id)
    assert "重叠" in refused.value.fields["zone0_bands"]
    assert fees.rules_for(session, coop).model_dump() == RULES.model_dump()  # nothing changed
    fees.reset(session, coop.id or 0)
    assert fees.rules_for(session, coop).local_fen == 400
    assert session.query(ShippingRule).count() == 1


def test_the_api_quote_is_what_checkout_charges(client, session: Session, shop) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 2})
    client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1})
    quote = client.post("/api/v1/shipping/quote", json={"province": "广东省"})
    assert quote.status_code == 200, quote.text
    body = quote.json()
    # 2 x 550 g of chilli to a neighbouring province, and one 600 g chilled fish.
    assert [p["fen"] for p in body["parcels"]] == [1800, 2700] and body["shipping_fen"] == 4500
    assert body["parcels"][1]["storage"] == "chilled"
    stale = client.post(
        "/api/v1/checkout?expected_shipping_fen=4000", json={**ADDRESS, "province": "广东省"}
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "shipping_changed"
    assert session.query(Order).count() == 0  # refused, nothing placed
    placed = client.post(
        "/api/v1/checkout?expected_shipping_fen=4500", json={**ADDRESS, "province": "广东省"}
    )
    assert placed.status_code == 201, placed.text
    assert [p["shipping_fen"] for p in placed.json()["fulfilments"]] == [1800, 2700]


def test_the_api_quote_refuses_bad_input(client, shop) -> None:  # type: ignore[no-untyped-def]
    item = [{"sku_id": shop["fish"], "quantity": 1}]
    assert client.post("/api/v1/shipping/quote", json={"items": item}).status_code == 422
    missing = [{"sku_id": 999_999, "quantity": 1}]
    bad = client.post("/api/v1/shipping/quote", json={"province": "广东", "items": missing})
    assert bad.status_code == 422 and "items" in bad.json()["error"]["fields"]
    local = client.post("/api/v1/shipping/quote", json={"delivery_method": "local", "items": item})
    assert local.status_code == 200 and local.json()["shipping_fen"] == 500


def test_the_desk_edits_its_rules_and_bad_bands_change_nothing(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    session.commit()
    f.login_browser(client, session, staff)
    page = client.get("/coop/shipping")
    assert page.status_code == 200 and "示例数据" in page.text
    form = {**fees.form_values(RULES), "csrf_token": csrf_token(page.text)}
    bad = client.post("/coop/shipping", data={**form, "zone0_bands": "0-1000 6\n800-2000 9"})
    assert bad.status_code == 422 and "重量段重叠" in bad.text
    assert "800-2000 9" in bad.text  # what was typed is kept
    assert session.query(ShippingRule).count() == 0
    saved = client.post("/coop/shipping", data=form, follow_redirects=False)
    assert saved.status_code == 303
    session.expire_all()
    stored = session.query(ShippingRule).one()
    assert stored.cooperative_id == coop.id and stored.rules["chilled_fen"] == 800
    assert "本社使用自己的运费规则" in client.get("/coop/shipping").text


def test_the_console_edits_the_township_default(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    admin = f.create_account(session, role=Role.ADMIN)
    session.commit()
    f.login_browser(client, session, admin)
    page = client.get("/township/shipping")
    assert page.status_code == 200 and "示例数据" in page.text
    form = {**fees.form_values(RULES), "csrf_token": csrf_token(page.text)}
    bad = client.post("/township/shipping", data={**form, "local": "-3"})
    assert bad.status_code == 422 and "金额不能是负数" in bad.text
    assert client.post("/township/shipping", data=form, follow_redirects=False).status_code == 303
    session.expire_all()
    assert fees.township_default(session, township.id or 0).local_fen == 300


def test_checkout_shows_the_fee_updates_it_and_refuses_a_changed_quote(
    client, session: Session, shop
) -> None:  # type: ignore[no-untyped-def]
    client.post("/cart/add", data={"sku_id": shop["fish"], "quantity": 1}, headers=SAME_ORIGIN)
    assert "运费 <b>¥25.00</b>" in client.get("/cart").text
    page = client.get("/checkout")
    assert 'name="quoted_fen" value="2500"' in page.text
    token = csrf_token(page.text)
    form = {**ADDRESS, "province": "广东省", "csrf_token": token, "quoted_fen": "2500"}
    updated = client.post("/checkout", data={**form, "action": "quote"})
    assert updated.status_code == 200 and "¥27.00" in updated.text
    assert 'name="quoted_fen" value="2700"' in updated.text and 'value="3组12号"' in updated.text
    assert session.query(Order).count() == 0

    # The cooperative changes its rules between the quote and the submit: refused, new fee shown.
    coop = session.query(Cooperative).filter(Cooperative.name == "稻花鱼合作社").one()
    fees.save(session, RULES, None, cooperative_id=coop.id)
    session.commit()
    refused = client.post("/checkout", data={**form, "quoted_fen": "2700"})
    assert refused.status_code == 422
    assert "运费已按合作社最新的运费规则更新" in refused.text and "¥28.00" in refused.text
    assert session.query(Order).count() == 0
    placed = client.post("/checkout", data={**form, "quoted_fen": "2800"}, follow_redirects=False)
    assert placed.status_code == 303
    assert session.query(Order).one().shipping_fen == 2800


def test_checkout_reads_each_cooperatives_rules_with_its_lines(  # type: ignore[no-untyped-def]
    client, session: Session, shop, connection
) -> None:
    """The rules in force for each cooperative (its own, else its township's default) come
    with the cart's lines: the quote and checkout charge them and send no statement apart."""
    from sqlalchemy import event

    from farmgate.models import Product, Sku

    def coop_of(sku_id: object) -> Cooperative:
        sku = session.get(Sku, sku_id)
        product = session.get(Product, sku.product_id if sku else 0)
        coop = session.get(Cooperative, product.cooperative_id if product else 0)
        assert coop is not None
        return coop

    chilli_coop, fish_coop = coop_of(shop["chilli"]), coop_of(shop["fish"])
    own = RULES.model_copy(update={"free_over_fen": None})
    fees.save(session, own, None, cooperative_id=chilli_coop.id)
    other = fees.Zone(name="其他", provinces=[], bands=[fees.Band(from_g=0, to_g=2000, fen=2500)])
    default = own.model_copy(update={"zones": [own.zones[0], other], "chilled_fen": 700})
    fees.save(session, default, None, township_id=fish_coop.township_id)
    session.commit()
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 2})
    client.post("/api/v1/cart/items", json={"sku_id": shop["fish"], "quantity": 1})
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        sent.append(" ".join(statement.split()))

    event.listen(connection, "before_cursor_execute", record)
    try:
        quote = client.post("/api/v1/shipping/quote", json={"province": "广东省"})
        placed = client.post(
            "/api/v1/checkout?expected_shipping_fen=5200", json={**ADDRESS, "province": "广东省"}
        )
    finally:
        event.remove(connection, "before_cursor_execute", record)
    # Chilli: its cooperative's own flat 20 yuan; fish: the township's 25 yuan and 7 chilled.
    assert [p["fen"] for p in quote.json()["parcels"]] == [2000, 3200], quote.text
    assert placed.status_code == 201, placed.text
    assert [fl["shipping_fen"] for fl in placed.json()["fulfilments"]] == [2000, 3200]
    assert not [s for s in sent if s.startswith("SELECT shipping_rule")], sent
    fees.reset(session, chilli_coop.id or 0)  # back to the township's default
    session.commit()
    client.post("/api/v1/cart/items", json={"sku_id": shop["chilli"], "quantity": 2})
    again = client.post("/api/v1/shipping/quote", json={"province": "广东省"})
    assert [p["fen"] for p in again.json()["parcels"]] == [2500], again.text
