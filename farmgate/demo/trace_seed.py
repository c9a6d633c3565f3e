"""Sample traceability records for the demo: a chilli lot, a chilled fish lot with its cold
chain, and an oil with an expired certificate. All of it is clearly sample data (示例).

The history is weeks long but seeded in one go, so each step is recorded inside
``chain.recording_as_of`` the moment a cooperative would have entered it (the same day as it
happened): no sample event is marked 补录 (late entry), and every chain and the transparency
log still verify, since the record times are hashed as stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.accounts import service as accounts
from farmgate.coldchain import readings, shipments
from farmgate.models import Account, Batch, Product, Role
from farmgate.timeutil import LOCAL_TZ
from farmgate.trace import certificates, chain, inspections, service, urls
from farmgate.trace.schemas import (
    BatchIn,
    CertificationIn,
    HandlingStep,
    HarvestIn,
    InputIn,
    InspectionIn,
    InspectionItem,
    StepIn,
)

COURIER_PHONE = "13800000009"


def _staff(session: Session, product: Product) -> Account:
    found = session.scalars(
        select(Account).where(
            col(Account.cooperative_id) == product.cooperative_id,
            col(Account.role) == Role.COOPERATIVE,
        )
    ).first()
    assert found is not None
    return found


def _product(session: Session, name: str) -> Product:
    found = session.scalars(select(Product).where(col(Product.name) == name)).first()
    assert found is not None, name
    return found


def _entered(day: date, hour: int = 18) -> datetime:
    """When the sample cooperative entered a step done on ``day``: that evening (local time)."""
    return datetime.combine(day, time(hour), LOCAL_TZ).astimezone(UTC)


def seed_trace(session: Session, password: str) -> dict[str, str]:
    """Returns {label: trace path} of the sample lots."""
    today = date.today()
    now = datetime.now(UTC).replace(microsecond=0)
    paths: dict[str, str] = {}

    chilli = _product(session, "谭家场干红辣椒")
    staff = _staff(session, chilli)
    lot = service.create_batch(
        session,
        staff,
        BatchIn(
            product_id=chilli.id or 0,
            lot_code=f"TJC{today:%y%m}A",
            quantity=Decimal(800),
            unit="kg",
            plot_name="谭家场村 3 组辣椒地（示例）",
            latitude=27.934,
            longitude=110.312,
            area_mu=Decimal("6.5"),
            producer="张三（示例）",
        ),
    )
    for record in (
        InputIn(
            kind="fertiliser",
            product_name="腐熟农家肥",
            dose="1500 公斤/亩",
            applied_on=today - timedelta(days=120),
        ),
        InputIn(
            kind="pesticide",
            product_name="苦参碱水剂（示例）",
            registration_no="PD20000000",
            dose="40 毫升/亩",
            applied_on=today - timedelta(days=45),
            preharvest_interval_days=10,
        ),
    ):
        with chain.recording_as_of(_entered(record.applied_on)):
            service.add_input(session, staff, lot, record)
    with chain.recording_as_of(_entered(today - timedelta(days=20))):
        service.record_harvest(
            session, staff, lot, HarvestIn(harvest_date=today - timedelta(days=20))
        )
    with chain.recording_as_of(_entered(today - timedelta(days=18))):
        _chilli_checks(session, staff, lot, today)
    with chain.recording_as_of(_entered(today - timedelta(days=15))):
        _chilli_compliance(session, staff, lot, today)
    steps: tuple[tuple[HandlingStep, int], ...] = (("packing", 14), ("storing", 13))
    for step, days in steps:
        with chain.recording_as_of(now - timedelta(days=days, minutes=-10)):
            service.record_step(
                session,
                staff,
                lot,
                StepIn(step=step, at=now - timedelta(days=days), place="谭家场村电商服务站"),
            )
    paths["干红辣椒批次"] = urls.trace_path(lot)
    paths.update(_fish(session, password, today, now))
    paths.update(_oil(session, today))
    session.flush()
    return paths


def _chilli_checks(session: Session, staff: Account, lot: Batch, today: date) -> None:
    """The lab's report and the product's green-food certification, entered the same day."""
    inspections.add_inspection(
        session,
        staff,
        lot,
        InspectionIn(
            lab="县农产品质量安全检测站（示例）",
            report_no=f"CX{today:%Y}-0815",
            inspected_on=today - timedelta(days=18),
            items=[
                InspectionItem(name="毒死蜱", result="未检出", limit="≤0.02 mg/kg", passed=True),
                InspectionItem(name="克百威", result="未检出", limit="≤0.02 mg/kg", passed=True),
            ],
        ),
    )
    certificates.add_certification(
        session,
        staff,
        lot,
        CertificationIn(
            kind="green_food",
            code=f"GF431223{today:%y}0017",
            issuer="中国绿色食品发展中心（示例）",
            issued_on=today - timedelta(days=200),
            scope="product",
        ),
    )


def _chilli_compliance(session: Session, staff: Account, lot: Batch, today: date) -> None:
    certificates.add_certification(
        session,
        staff,
        lot,
        CertificationIn(
            kind="compliance_cert",
            issued_on=today - timedelta(days=15),
            details={
                "product_name": "干红辣椒",
                "quantity": "800",
                "unit": "kg",
                "origin": "湖南省辰溪县谭家场乡",
                "committer": "谭家场辣椒合作社（示例）",
                "contact": "13800000001",
                "basis": "commissioned_test",
            },
        ),
    )


def _fish(session: Session, password: str, today: date, now: datetime) -> dict[str, str]:
    """Caught this morning, its cold chain's handoffs entered as they happened."""
    paths: dict[str, str] = {}
    fish = _product(session, "辰溪稻花鱼")
    staff = _staff(session, fish)
    courier = accounts.create_account(
        session,
        phone=COURIER_PHONE,
        password=password,
        display_name="村级配送员（示例）",
        role=Role.COURIER,
    )
    catch = service.create_batch(
        session,
        staff,
        BatchIn(
            product_id=fish.id or 0,
            lot_code=f"GP{today:%y%m%d}",
            quantity=Decimal(120),
            unit="条",
            plot_name="高坪村稻田（示例）",
            latitude=27.961,
            longitude=110.275,
            producer="李四（示例）",
        ),
    )
    with chain.recording_as_of(now - timedelta(hours=4, minutes=-5)):
        service.record_harvest(
            session, staff, catch, HarvestIn(harvest_date=today, at=now - timedelta(hours=4))
        )
    certificates.add_certification(
        session,
        staff,
        catch,
        CertificationIn(
            kind="compliance_cert",
            issued_on=today,
            details={
                "product_name": "辰溪稻花鱼",
                "quantity": "120",
                "unit": "条",
                "origin": "湖南省辰溪县谭家场乡高坪村",
                "committer": "高坪稻花鱼合作社（示例）",
                "contact": "13800000002",
                "basis": "internal_control",
            },
        ),
    )
    certificates.add_certification(
        session,
        staff,
        catch,
        CertificationIn(
            kind="geo_indication",
            code="AGI09999",
            issuer="农业农村部（示例编号）",
            issued_on=date(2018, 1, 1),
            scope="product",
        ),
    )
    trip = shipments.create_shipment(
        session,
        staff,
        catch.id or 0,
        shipments.ShipmentIn(courier_account_id=courier.id, device_id=f"DEMO-LOGGER-{catch.id}"),
    )
    start = now - timedelta(hours=3)
    samples = [
        readings.ReadingIn(
            device_id=trip.device_id or "",
            seq=i,
            at=start + timedelta(minutes=5 * i),
            celsius=3.2 + (i % 7) * 0.3,
        )
        for i in range(36)
    ]
    readings.store_readings(session, samples)
    for hours, (giver, taker, place, temp) in (
        (2, ("高坪稻花鱼合作社", "村级配送员", "高坪村冷库", 3.4)),
        (0, ("村级配送员", "辰溪县邮政", "谭家场乡邮政所", 4.1)),
    ):
        with chain.recording_as_of(now - timedelta(hours=hours)):
            shipments.add_handoff(
                session,
                courier,
                trip,
                shipments.HandoffIn(
                    from_party=giver,
                    to_party=taker,
                    place=place,
                    temperature_c=temp,
                    at=now - timedelta(hours=hours),
                ),
            )
    paths["稻花鱼批次（冷链）"] = urls.trace_path(catch)
    first = urls.serials(catch, 1, 1)[0]
    catch.serial_count = 5
    session.add(catch)
    paths["稻花鱼单品码"] = urls.trace_path(catch, first)
    return paths


def _oil(session: Session, today: date) -> dict[str, str]:
    """Pressed two months ago; its organic certificate (entered then) has since expired."""
    paths: dict[str, str] = {}
    oil = _product(session, "压榨山茶油")
    staff = _staff(session, oil)
    pressing = service.create_batch(
        session,
        staff,
        BatchIn(
            product_id=oil.id or 0, lot_code=f"STP{today:%y}01", quantity=Decimal(300), unit="L"
        ),
    )
    with chain.recording_as_of(_entered(today - timedelta(days=60))):
        service.record_harvest(
            session, staff, pressing, HarvestIn(harvest_date=today - timedelta(days=60))
        )
        certificates.add_certification(
            session,
            staff,
            pressing,
            CertificationIn(
                kind="organic",
                code=f"123{today - timedelta(days=500):%y}000000000017",
                issuer="认证机构（示例）",
                issued_on=today - timedelta(days=500),
                scope="product",
            ),
        )
    paths["山茶油批次（有机证书已过期）"] = urls.trace_path(pressing)
    return paths
