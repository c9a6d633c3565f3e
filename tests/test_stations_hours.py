"""A village station's opening hours: per weekday in Asia/Shanghai, edited in the console with
the error beside the day, shown to buyers and staff as "open now" or "next open", and never a
reason to refuse a pickup (only 暂停服务 is)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from farmgate.errors import ValidationFailed
from farmgate.models import DeliveryMethod, Role, Station, StationOrder
from farmgate.stations import hours, records
from farmgate.stations import orders as station_orders
from farmgate.timeutil import LOCAL_TZ
from tests.support import factories as f
from tests.support.factories import ADDRESS
from tests.support.stations import station_world
from tests.support.web import csrf_token

WEEKDAYS_ONLY = {str(d): ["08:00", "17:30"] for d in range(1, 6)} | {"6": ["09:00", "12:00"]}


def local(text: str) -> datetime:
    """A moment in the township's time zone (2026-12-07 is a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def test_the_week_in_one_line() -> None:
    assert hours.summary(hours.default_hours()) == "每天 08:00–18:00"
    assert hours.summary(WEEKDAYS_ONLY) == "周一至周五 08:00–17:30，周六 09:00–12:00，周日休息"
    split = {**hours.default_hours(), "3": ["13:00", "18:00"]}
    assert hours.summary(split) == (
        "周一、周二 08:00–18:00，周三 13:00–18:00，周四至周日 08:00–18:00"
    )
    assert hours.summary({}) == "每天休息"


@pytest.mark.parametrize(
    ("at", "open_now", "text"),
    [
        ("2026-12-07 10:00", True, "营业中，今天 17:30 关门"),
        ("2026-12-07 07:59", False, "现在不在营业时间，今天 08:00 开门"),
        # After closing on Monday: Tuesday morning.
        ("2026-12-07 17:30", False, "现在不在营业时间，明天（周二）08:00 开门"),
        # Saturday afternoon: closed Sunday, so Monday (two days ahead, named with its date).
        ("2026-12-12 12:30", False, "现在不在营业时间，周一（12月14日）08:00 开门"),
        # 01:00 in Shanghai is still the previous day in UTC: the local day decides.
        ("2026-12-13 01:00", False, "现在不在营业时间，明天（周一）08:00 开门"),
    ],
)
def test_open_now_and_next_opening_in_the_townships_time(
    at: str, open_now: bool, text: str
) -> None:
    now = local(at).astimezone(UTC)
    found = hours.status(WEEKDAYS_ONLY, now=now)
    assert (found.open_now, found.text) == (open_now, text)
    assert hours.is_open(WEEKDAYS_ONLY, now) is open_now
    if not open_now:
        assert found.next_opens_at is not None and found.next_opens_at > now
    suspended = hours.status(WEEKDAYS_ONLY, suspended=True, now=now)
    assert not suspended.open_now and "暂停服务" in suspended.text


def test_the_console_form_reads_each_day_and_names_the_wrong_one() -> None:
    form = {f"open_{d}": "8:00" for d in range(1, 8)} | {f"close_{d}": "1800" for d in range(1, 8)}
    week, errors = hours.from_form({**form, "rest_7": "1"})
    assert errors == {} and week["1"] == ["08:00", "18:00"] and "7" not in week
    _, errors = hours.from_form({**form, "open_3": "早上", "close_5": "07:00"})
    assert set(errors) == {"open_3", "close_5"}
    assert "周三开门时间" in errors["open_3"] and "晚于开门时间" in errors["close_5"]
    _, errors = hours.from_form({f"rest_{d}": "1" for d in range(1, 8)})
    assert "至少要有一天营业" in errors["open_1"]
    assert hours.from_form(hours.form_values(WEEKDAYS_ONLY)) == (WEEKDAYS_ONLY, {})


def _form(station: Station, **changes: str) -> dict[str, str]:
    return {
        "name": station.name,
        "village_id": str(station.village_id),
        "address": station.address,
        "takes_cash": "1",
        "holds_parcels": "1",
        **hours.form_values(WEEKDAYS_ONLY),
        **changes,
    }


def test_hours_are_stored_per_weekday_and_a_wrong_day_saves_nothing(session: Session) -> None:
    world = station_world(session)
    station = world["station"]
    admin = f.create_account(session, role=Role.ADMIN)
    records.save_station(session, admin, _form(station), pk_of(station))
    session.commit()
    session.expire_all()
    stored = session.get(Station, pk_of(station))
    assert stored is not None and stored.weekly_hours == WEEKDAYS_ONLY
    assert records.hours_text(stored) == "周一至周五 08:00–17:30，周六 09:00–12:00，周日休息"

    with pytest.raises(ValidationFailed) as refused:
        records.save_station(session, admin, _form(stored, close_2="07:00"), pk_of(stored))
    assert set(refused.value.fields) == {"close_2"}
    session.rollback()
    assert session.get(Station, pk_of(station)).weekly_hours == WEEKDAYS_ONLY  # type: ignore[union-attr]


def pk_of(station: object) -> int:
    value = getattr(station, "id", None)
    assert isinstance(value, int)
    return value


def _closed_now() -> dict[str, list[str]]:
    """Opening hours that do not include the present moment, whatever time the test runs."""
    hour = datetime.now(LOCAL_TZ).hour
    window = ["12:00", "13:00"] if hour < 11 or hour >= 14 else ["06:00", "07:00"]
    return {str(d): window for d in range(1, 8)}


def test_a_pickup_outside_the_stations_hours_is_taken(session: Session, client) -> None:  # type: ignore[no-untyped-def]
    """Night or a day off is no reason to refuse: the parcel waits at the station. The buyer's
    order page says when it opens next; the staff's page says it is not open now."""
    world = station_world(session)
    station = world["station"]
    station.weekly_hours = _closed_now()
    session.add(station)
    session.flush()
    assert not hours.station_status(station).open_now
    assert station_orders.open_station(session, station.id) is station

    order = station_orders.place_for_villager(
        session,
        world["staff"],
        station_orders.VillagerOrderIn(
            villager_name="王奶奶",
            delivery_method=DeliveryMethod.PICKUP,
            items={world["sku"].id: 1},
        ),
    )
    assert session.get(StationOrder, order.id) is not None
    session.commit()

    f.login_browser(client, session, world["staff"])
    home = client.get("/station")
    assert home.status_code == 200 and "现在不营业" in home.text and "开门" in home.text

    next_open = hours.station_status(station).next_open_text
    buyer = f.create_account(session)
    f.login_browser(client, session, buyer)
    token = csrf_token(client.get("/").text)
    client.post("/cart/add", data={"sku_id": world["sku"].id, "quantity": 1, "csrf_token": token})
    token = csrf_token(client.get("/checkout").text)
    form = {**ADDRESS, "delivery_method": "pickup", "csrf_token": token}
    placed = client.post("/checkout", data={**form, "station_id": str(station.id)})
    assert placed.status_code == 200, placed.text
    assert "服务站现在没开门，下次开门" in placed.text and next_open in placed.text
    assert "每天 " in placed.text  # the week's hours


def test_a_suspended_station_is_refused_and_the_reason_names_its_hours(session: Session) -> None:
    world = station_world(session)
    world["station"].is_closed = True
    with pytest.raises(ValidationFailed) as refused:
        station_orders.open_station(session, world["station"].id)
    assert "暂停服务" in refused.value.message
    assert "每天 08:00–18:00" in refused.value.fields["station_id"]


def test_the_staff_see_the_station_open_now(session: Session, client) -> None:  # type: ignore[no-untyped-def]
    world = station_world(session)
    station = world["station"]
    station.weekly_hours = {str(d): ["00:00", "23:59"] for d in range(1, 8)}
    session.add(station)
    session.commit()
    if datetime.now(LOCAL_TZ).strftime("%H:%M") >= "23:59":  # pragma: no cover - one minute a day
        pytest.skip("the last minute of the day")
    f.login_browser(client, session, world["staff"])
    home = client.get("/station")
    assert "现在营业" in home.text and "今天 23:59 关门" in home.text
