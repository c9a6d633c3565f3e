"""Running aggregates give exactly the analysis of the whole series, whatever the order.

Random series are uploaded in random pieces (out of order, readings sent twice, several
readings at one instant, readings before the shipment's window, small storage batches so
one upload folds several times) and after every upload the shipment's analysis from its
running aggregates must equal, bit for bit, ``temperature.analyse`` of every stored reading
(the code before them), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from farmgate.coldchain import aggregates, readings, shipments, temperature
from farmgate.errors import ValidationFailed
from farmgate.models import Batch, ColdShipment, Role, TemperatureReading
from tests.support import factories as f

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _shipment(session: Session, device: str, **limits: float) -> ColdShipment:
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(
        session, staff, f.first_village(session, township), storage_class="chilled"
    )
    for key, value in limits.items():
        setattr(product, key, value)
    batch = Batch(
        cooperative_id=coop.id,  # type: ignore[arg-type]
        product_id=product.id,  # type: ignore[arg-type]
        lot_code=f"LOT-{device}",
        gtin="06901234567892",
        quantity=Decimal(10),
        unit="kg",
    )
    session.add_all([product, batch])
    session.flush()
    shipment = ColdShipment(
        batch_id=batch.id,  # type: ignore[arg-type]
        cooperative_id=coop.id,  # type: ignore[arg-type]
        storage_class="chilled",
        device_id=device,
        created_at=T0,
    )
    session.add(shipment)
    session.flush()
    return shipment


def _full(session: Session, shipment: ColdShipment) -> temperature.Analysis:
    """The old way: every stored reading of the shipment, analysed whole."""
    points = shipments.readings_of(session, shipment)
    return temperature.analyse(
        [temperature.Reading(at, c) for at, c in points],
        shipments.profile_for_shipment(session, shipment),
    )


def _random_rows(rng: random.Random, device: str, n: int) -> list[tuple[str, int, str, str]]:
    """Readings every 1-15 minutes around the 0-8 °C range, some at one instant, a few
    before the shipment's window, in seconds, milliseconds and other time zones."""
    rows = []
    at = T0 - timedelta(days=1, hours=2)  # the window starts a day before the shipment
    celsius = 4.0
    zones = [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=3, minutes=30))]
    for seq in range(n):
        if rng.random() > 0.1:  # else: the same instant as the reading before
            at += timedelta(minutes=rng.randint(1, 15), milliseconds=rng.choice([0, 0, 250]))
        celsius = min(79.0, max(-79.0, celsius + rng.choice([-3, -1.5, -0.25, 0, 0.25, 1.5, 3])))
        if rng.random() < 0.05:
            celsius = 4.0
        value = round(celsius + rng.choice([0, 0.1, 0.123456, -0.7]), 6)
        rows.append((device, seq, at.astimezone(rng.choice(zones)).isoformat(), f"{value}"))
    return rows


def _csv(rows: list[tuple[str, int, str, str]]) -> bytes:
    return (
        "device_id,seq,at,celsius\n" + "".join(f"{d},{s},{a},{c}\n" for d, s, a, c in rows)
    ).encode()


@pytest.mark.parametrize("seed", range(6))
def test_running_aggregates_equal_the_full_analysis(
    session: Session, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(readings, "BATCH_READINGS", rng.choice([7, 50, 1000]))
    device = f"SER-{seed}"
    shipment = _shipment(session, device)
    rebuilds: list[int] = []
    rebuild = aggregates.rebuild
    monkeypatch.setattr(aggregates, "rebuild", lambda *a: rebuilds.append(1) or rebuild(*a))
    rows = _random_rows(rng, device, rng.choice([300, 800]))
    # pieces: in order, shuffled, reversed; some sent twice, some overlapping
    pieces = []
    cuts = sorted(rng.sample(range(1, len(rows)), 5))
    for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True):
        piece = rows[a:b]
        mode = rng.choice(["asis", "shuffle", "reverse"])
        if mode == "shuffle":
            piece = rng.sample(piece, len(piece))
        elif mode == "reverse":
            piece = piece[::-1]
        pieces.append(piece)
    rng.shuffle(pieces)
    pieces.insert(rng.randrange(len(pieces)), rng.sample(rows, 40))  # duplicates
    for piece in pieces:
        result = readings.upload_readings(session, None, shipment, _csv(piece), "text/csv")  # type: ignore[arg-type]
        assert not result["errors"]
        want = _full(session, shipment)
        got = shipments.current_analysis(session, shipment)
        assert got == want
        assert shipment.analysis == shipments.summary(want)
        assert shipment.breached == want.breached
    assert shipment.analysis["count"] == sum(
        1 for r in rows if datetime.fromisoformat(r[2]) >= T0 - timedelta(days=1)
    )
    assert rebuilds == [1]  # the empty shipment's first; every upload after it folded in place
    # the state that was kept is the state a rebuild makes
    profile = shipments.profile_for_shipment(session, shipment)
    kept = aggregates.load(shipment, profile)
    assert kept is not None
    assert kept.analysis(profile) == rebuild(session, shipment, profile).analysis(profile)


def test_excursions_split_and_joined_by_late_readings(session: Session) -> None:
    """Late readings landing inside an excursion, between two, and at an instant already
    stored (which then becomes the worst of its readings)."""
    shipment = _shipment(session, "SER-LATE")

    def up(*points: tuple[int, int, float]) -> None:
        rows = [
            ("SER-LATE", s, (T0 + timedelta(minutes=m)).isoformat(), f"{c}") for s, m, c in points
        ]
        readings.upload_readings(session, None, shipment, _csv(rows), "text/csv")  # type: ignore[arg-type]
        assert shipments.current_analysis(session, shipment) == _full(session, shipment)
        assert shipment.analysis == shipments.summary(_full(session, shipment))

    up((0, 0, 4), (1, 10, 9), (2, 20, 9.5), (3, 60, 10), (4, 70, 4), (5, 80, 12), (6, 90, 4))
    up((7, 40, 5))  # splits the first excursion
    up((8, 75, 11))  # 70 stays in range: a new short excursion after it
    up((9, 70, 13))  # the instant of 70 becomes high: joins 60 and 75 into one
    up((10, 65, -2))  # a low reading inside a high excursion: high, low, high
    up((11, -30, 20), (12, 200, -5))  # before the first and after the last
    up((13, 200, 4))  # the same instant as the last, in range: the low stays the worst
    directions = [e["direction"] for e in shipment.analysis["excursions"]]
    assert len(directions) == 6 and directions.count("low") == 2


def test_readings_stored_elsewhere_are_seen(session: Session) -> None:
    """Readings stored for the device another way (the demo seed, another shipment of the same
    logger) make the state stale: the next analysis rebuilds it."""
    first = _shipment(session, "SER-SHARED")
    rows = [("SER-SHARED", s, (T0 + timedelta(minutes=10 * s)).isoformat(), "4") for s in range(20)]
    readings.upload_readings(session, None, first, _csv(rows), "text/csv")  # type: ignore[arg-type]
    readings.store_readings(
        session,
        [
            readings.PlainReading("SER-SHARED", 100 + i, T0 + timedelta(minutes=205 + 10 * i), 15.0)
            for i in range(5)
        ],
    )
    session.refresh(first)
    assert first.series is None
    shipments.refresh(session, first)
    assert shipments.current_analysis(session, first) == _full(session, first)
    assert first.breached  # 15 °C for 40 minutes
    stored = session.scalars(
        select(TemperatureReading.seq).where(TemperatureReading.device_id == "SER-SHARED")
    )
    assert len(list(stored)) == 25


def test_a_clash_with_another_transaction_falls_back_batch_by_batch(
    committed_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction stores two of an upload's readings between the upload's check and
    its COPY: that batch goes through the temporary table (only the rest counted as new), the
    batches after it (read while the failed COPY ran) are stored as usual, and the analysis,
    rebuilt once more after the race, equals the full one."""
    if committed_db.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    monkeypatch.setattr(readings, "BATCH_READINGS", 7)
    rebuilds: list[int] = []
    rebuild = aggregates.rebuild
    monkeypatch.setattr(aggregates, "rebuild", lambda *a: rebuilds.append(1) or rebuild(*a))
    device = "SER-CLASH"
    rows = [
        (device, s, (T0 + timedelta(minutes=10 * s)).isoformat(), "9.5" if 10 <= s < 16 else "4")
        for s in range(30)
    ]
    sizes: list[int] = []
    copy = readings._insert_postgresql

    def racing(session: Session, device: str, batch: list[readings.Reading], *rest: Any) -> Any:
        sizes.append(len(batch))
        if len(sizes) == 2:  # seq 7-13: another transaction stores 8 and 9 first, and commits
            with Session(committed_db) as other:
                at = [T0 + timedelta(minutes=10 * s) for s in (8, 9)]
                other.add_all(
                    TemperatureReading(device_id=device, seq=s, at=a, celsius=4.0)
                    for s, a in zip((8, 9), at, strict=True)
                )
                other.commit()
        return copy(session, device, batch, *rest)

    monkeypatch.setattr(readings, "_insert_postgresql", racing)
    with Session(committed_db) as session:
        shipment = _shipment(session, device)
        session.commit()
        result = readings.upload_readings(session, None, shipment, _csv(rows), "text/csv")  # type: ignore[arg-type]
        assert (result["received"], result["added"], result["duplicates"]) == (30, 28, 2)
        assert not result["errors"]
        assert sizes == [7, 7, 7, 7, 2]
        session.commit()
        assert rebuilds == [1, 1]  # the empty shipment's, and the one after the race
        assert shipments.current_analysis(session, shipment) == _full(session, shipment)
        assert shipment.breached  # 9.5 °C for 50 minutes
        stored = session.scalars(
            select(TemperatureReading.seq).where(TemperatureReading.device_id == device)
        )
        assert sorted(stored) == list(range(30))


def test_a_bad_later_batch_stops_the_upload_while_the_copy_runs(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next batch is read while the current one is being copied: a file found too long
    there (a limit of 20 readings, met in the third batch of 7) is refused as before, the
    copy in flight is cancelled, and the session goes on working."""
    monkeypatch.setattr(readings, "BATCH_READINGS", 7)
    monkeypatch.setattr(readings, "MAX_READINGS_PER_UPLOAD", 20)
    device = "SER-LATE-BAD"
    shipment = _shipment(session, device)
    session.commit()
    rows = [(device, s, (T0 + timedelta(minutes=10 * s)).isoformat(), "4") for s in range(30)]
    with pytest.raises(ValidationFailed) as caught:
        readings.upload_readings(session, None, shipment, _csv(rows), "text/csv")  # type: ignore[arg-type]
    assert caught.value.fields == {"file": "共 30 条"}
    session.rollback()  # as the callers do
    stored = session.scalars(
        select(TemperatureReading.seq).where(TemperatureReading.device_id == device)
    )
    assert list(stored) == []
    result = readings.upload_readings(session, None, shipment, _csv(rows[:20]), "text/csv")  # type: ignore[arg-type]
    assert (result["received"], result["added"]) == (20, 20)
    assert shipments.current_analysis(session, shipment) == _full(session, shipment)
