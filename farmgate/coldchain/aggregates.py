"""A shipment's running aggregates in the database: load, rebuild, fold new readings in.

The arithmetic is in series.py. Here: where the state lives (``cold_shipment.series``), the
one full read that builds it (a shipment from before it existed, or after readings were
stored some other way), and the short reads the fold needs when readings arrive out of order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.coldchain.series import Sample, Series, from_us, merge, to_us
from farmgate.coldchain.temperature import Profile
from farmgate.models import ColdShipment, TemperatureReading

CHUNK = 20_000  # readings per step of a rebuild


def window_start(shipment: ColdShipment) -> datetime:
    """Readings from this instant on belong to the shipment (see shipments.readings_of)."""
    return shipment.created_at - timedelta(days=1)


def load(shipment: ColdShipment, profile: Profile) -> Series | None:
    """The stored state, if it was built for this shipment's device, window and range."""
    state = Series.from_json(shipment.series)
    if state is None or shipment.device_id is None:
        return None
    if not state.fits(shipment.device_id, to_us(window_start(shipment)), profile):
        return None
    return state


def save(shipment: ColdShipment, state: Series | None) -> None:
    shipment.series = state.to_json() if state is not None else None


def current(session: Session, shipment: ColdShipment, profile: Profile) -> Series | None:
    """The state, rebuilt from the stored readings when missing or stale (None: no device)."""
    if shipment.device_id is None:
        return None
    state = load(shipment, profile)
    if state is None:
        state = rebuild(session, shipment, profile)
        save(shipment, state)
    return state


def rebuild(session: Session, shipment: ColdShipment, profile: Profile) -> Series:
    """Every stored reading of the shipment, read in order and folded in chunk by chunk."""
    assert shipment.device_id is not None
    start = window_start(shipment)
    state = Series.start(shipment.device_id, to_us(start), profile)
    query = (
        select(col(TemperatureReading.at), col(TemperatureReading.celsius))
        .where(
            col(TemperatureReading.device_id) == shipment.device_id,
            col(TemperatureReading.at) >= start,
        )
        .order_by(col(TemperatureReading.at))
        .execution_options(yield_per=CHUNK)
    )
    chunk: list[Sample] = []
    for at, celsius in session.execute(query):
        us = to_us(at)
        # cut only between instants, so every chunk comes after the one before
        if len(chunk) >= CHUNK and us != chunk[-1][0]:
            _fold_sorted(state, chunk, profile)
            chunk = []
        chunk.append((us, celsius))
    _fold_sorted(state, chunk, profile)
    return state


def _fold_sorted(state: Series, raw: list[Sample], profile: Profile) -> None:
    state.add_values([c for _, c in raw])
    state.extend(merge(raw, profile), profile)


def fold(
    session: Session,
    shipment: ColdShipment,
    state: Series,
    new: Sequence[tuple[int, int, float]],
    profile: Profile,
) -> bool:
    """Fold readings just stored (seq, microseconds, celsius) into ``state``.

    They must already be in the database (the out-of-order path reads them back with their
    neighbours). False when the state could not be updated in place (rebuild it).
    """
    raw = sorted((us, c) for _, us, c in new if us >= state.window_us)
    if _append(state, raw, profile):
        return True
    state.add_values([c for _, c in raw])
    lo, hi = raw[0][0], raw[-1][0]
    # Out of order: read again the stretch that can change (series.Series.affected).
    device = col(TemperatureReading.device_id) == shipment.device_id
    at = col(TemperatureReading.at)
    window = window_start(shipment)
    before = session.scalar(select(func.max(at)).where(device, at >= window, at < _dt(lo)))
    after = session.scalar(select(func.min(at)).where(device, at > _dt(hi)))
    start, end = state.affected(to_us(before) if before else None, to_us(after) if after else None)
    query = select(col(TemperatureReading.seq), at, col(TemperatureReading.celsius)).where(
        device, at >= (max(window, _dt(start)) if start is not None else window)
    )
    if end is not None:
        query = query.where(at <= _dt(end))
    fresh = {seq for seq, us, _ in new if us >= state.window_us}
    old: list[Sample] = []
    every: list[Sample] = []
    for seq, when, celsius in session.execute(query.order_by(at)):
        sample = (to_us(when), celsius)
        every.append(sample)
        if seq not in fresh:
            old.append(sample)
    return state.replace(start, end, merge(old, profile), merge(every, profile), profile)


def fold_appending(state: Series, us: list[int], celsius: list[float], profile: Profile) -> bool:
    """``fold`` without the database, for readings (instants and values, position by
    position) that all come after the state's last one (the usual upload); False, with
    ``state`` untouched, when ``fold`` must read. The readings need not be stored yet: an
    upload folds a batch while PostgreSQL is still copying it."""
    if not us:
        return True
    if min(us) >= state.window_us:  # the usual case: no reading before the window
        if len(set(us)) == len(us) and us == sorted(us):
            # as a logger sends them: already one sample per instant, in time order (no
            # tuple per reading, nothing to merge)
            if state.last_us is not None and us[0] <= state.last_us:
                return False
            state.add_values(celsius)
            state.extend_columns(us, celsius, profile)
            return True
    window = state.window_us
    return _append(
        state, sorted((u, c) for u, c in zip(us, celsius, strict=True) if u >= window), profile
    )


def _append(state: Series, raw: list[Sample], profile: Profile) -> bool:
    if not raw:
        return True
    if state.last_us is not None and raw[0][0] <= state.last_us:
        return False
    state.add_values([c for _, c in raw])
    state.extend(merge(raw, profile), profile)
    return True


def _dt(us: int) -> datetime:
    return from_us(us)


def forget(session: Session, device_ids: Sequence[str], *, keep: int | None = None) -> None:
    """Readings were stored for these devices: other shipments rebuild their state when next
    analysed (a logger may have watched more than one shipment)."""
    if not device_ids:
        return
    stmt = update(ColdShipment).where(col(ColdShipment.device_id).in_(list(device_ids)))
    if keep is not None:
        stmt = stmt.where(col(ColdShipment.id) != keep)
    session.execute(stmt.values(series=None).execution_options(synchronize_session=False))
