"""Cold chain rules of farmgate.coldchain.temperature, on hand-computed series."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from farmgate.coldchain.temperature import (
    DELTA_H_OVER_R,
    Analysis,
    Excursion,
    Profile,
    Reading,
    analyse,
    default_profile,
    mean_kinetic_temperature,
    sensor_report,
)
from farmgate.gs1 import epcis

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CHILLED = default_profile("chilled")
FROZEN = default_profile("frozen")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def series(*celsius: float, step: float = 10) -> list[Reading]:
    """Readings ``step`` minutes apart."""
    return [Reading(at(step * i), c) for i, c in enumerate(celsius)]


def timed(*points: tuple[float, float]) -> list[Reading]:
    """Readings at (minute, °C)."""
    return [Reading(at(m), c) for m, c in points]


# --- profiles ------------------------------------------------------------------------------


def test_default_profiles_follow_gb_t_24616() -> None:
    assert (CHILLED.min_c, CHILLED.max_c) == (0, 8)
    assert (FROZEN.min_c, FROZEN.max_c) == (None, -18)
    assert default_profile("ambient") == Profile(None, None)
    assert default_profile("ambient", ambient_max_c=40).max_c == 40
    for profile in (CHILLED, FROZEN):
        assert profile.single_delay == timedelta(minutes=30)
        assert profile.cumulative_limit == timedelta(hours=2)
    with pytest.raises(ValueError, match="unknown storage class"):
        default_profile("cool")
    with pytest.raises(ValueError, match="above its maximum"):
        Profile(min_c=8, max_c=0)


@pytest.mark.parametrize(
    ("profile", "celsius", "expected"),
    [
        (CHILLED, 8.0, None),  # 8 ℃以下 includes 8
        (CHILLED, 8.01, "high"),
        (CHILLED, 0.0, None),  # the freezing point itself is still chilled
        (CHILLED, -0.01, "low"),
        (CHILLED, 4.0, None),
        (FROZEN, -18.0, None),  # ≤ -18 ℃
        (FROZEN, -17.9, "high"),
        (FROZEN, -40.0, None),
        (default_profile("ambient"), 55.0, None),
    ],
)
def test_boundaries_are_inclusive(profile: Profile, celsius: float, expected: str | None) -> None:
    assert profile.direction(celsius) == expected


# --- excursions ----------------------------------------------------------------------------


def test_one_excursion_just_under_at_and_just_over_the_delay() -> None:
    # Out of range from minute 1 until the reading back in range: 29, 30, 31 minutes.
    under = analyse(timed((0, 4), (1, 9), (15, 10), (30, 5)), CHILLED)
    assert under.excursions == (Excursion(at(1), at(30), "high", 10),)
    assert under.excursions[0].duration == timedelta(minutes=29)
    assert not under.single_breach and not under.breached
    exactly = analyse(timed((0, 4), (1, 9), (31, 5)), CHILLED)
    assert exactly.excursions[0].duration == timedelta(minutes=30)
    assert not exactly.breached  # "longer than 30 minutes"
    over = analyse(timed((0, 4), (1, 9), (32, 5)), CHILLED)
    assert over.excursions[0].duration == timedelta(minutes=31)
    assert over.single_breach and over.breached and not over.cumulative_breach
    assert over.time_out == timedelta(minutes=31)


def test_short_excursions_add_up_to_a_cumulative_breach() -> None:
    # Five 25-minute excursions (9 ℃ then 9 ℃ ... back to 5 ℃), each below the 30-minute delay.
    one = [(0, 9), (10, 9), (25, 5), (60, 5)]
    points = [(start + m, c) for start in range(0, 300, 60) for m, c in one]
    result = analyse(timed(*points), CHILLED)
    assert len(result.excursions) == 5
    assert all(e.duration == timedelta(minutes=25) for e in result.excursions)
    assert result.time_out == timedelta(minutes=125)  # > 2 h
    assert result.cumulative_breach and not result.single_breach and result.breached
    # Four of them: 100 minutes, no breach; exactly 120 minutes would not breach either.
    assert not analyse(timed(*points[:16]), CHILLED).breached
    limit = Profile(0, 8, cumulative_limit=timedelta(minutes=100))
    assert not analyse(timed(*points[:16]), limit).cumulative_breach


def test_frozen_goods_warming_up() -> None:
    result = analyse(series(-20, -17, -16, -17.5, -17, -19, -18), FROZEN)
    assert result.excursions == (Excursion(at(10), at(50), "high", -16),)
    assert result.single_breach  # 40 minutes above -18 ℃
    assert result.time_out == timedelta(minutes=40)
    assert not analyse(series(-25, -18, -18, -18, -18, -19), FROZEN).excursions


def test_chilled_goods_freezing_is_a_low_excursion() -> None:
    short = analyse(series(3, -0.5, -1.2, -0.8, 3), CHILLED)
    assert short.excursions == (Excursion(at(10), at(40), "low", -1.2),)
    assert not short.breached  # exactly 30 minutes
    longer = analyse(series(3, -0.5, -1.2, -0.8, -0.1, 3), CHILLED)
    assert longer.single_breach and longer.excursions[0].direction == "low"
    assert longer.min_c == -1.2


def test_straight_from_too_warm_to_too_cold_is_two_excursions() -> None:
    profile = Profile(2, 6)
    result = analyse(series(4, 8, 9, 0, 1, 4), profile)
    assert result.excursions == (
        Excursion(at(10), at(30), "high", 9),
        Excursion(at(30), at(50), "low", 0),
    )
    assert result.time_out == timedelta(minutes=40)
    assert not result.breached


def test_the_last_reading_carries_no_time() -> None:
    trailing = analyse(series(4, 4, 9), CHILLED)
    assert trailing.excursions == (Excursion(at(20), at(20), "high", 9),)
    assert trailing.time_out == timedelta(0) and not trailing.breached
    lone = analyse([Reading(T0, 12)], CHILLED)
    assert lone.count == 1 and lone.excursions[0].duration == timedelta(0)
    assert lone.mkt_c == pytest.approx(12) and not lone.breached


def test_unsorted_input_gives_the_same_analysis() -> None:
    readings = series(4, 9, 10, 9, 9, 5, 3, -1, 2, 6)
    expected = analyse(readings, CHILLED)
    shuffled = readings[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != readings
    assert analyse(shuffled, CHILLED) == expected
    assert expected.first == at(0) and expected.last == at(90)
    assert expected.single_breach  # 9, 10, 9, 9: 40 minutes


def test_readings_at_the_same_instant() -> None:
    # Two probes at minute 10: one says 9 ℃, one 5 ℃. The worse one stands for the interval.
    result = analyse(timed((0, 5), (10, 5), (10, 9), (20, 5)), CHILLED)
    assert result.count == 4 and result.mean_c == pytest.approx(6)
    assert result.excursions == (Excursion(at(10), at(20), "high", 9),)
    assert result.time_out == timedelta(minutes=10)
    # Within range they are averaged: 3 and 5 at minute 0 count as 4 for MKT.
    merged = mean_kinetic_temperature(timed((0, 3), (0, 5), (10, 4)))
    assert merged == pytest.approx(4)
    # A re-sent reading changes nothing but the count.
    once = analyse(series(4, 9, 9, 9, 9, 5), CHILLED)
    twice = analyse([*series(4, 9, 9, 9, 9, 5), Reading(at(20), 9)], CHILLED)
    assert (twice.excursions, twice.time_out, twice.mkt_c) == (
        once.excursions,
        once.time_out,
        pytest.approx(once.mkt_c),
    )


def test_no_readings() -> None:
    empty = analyse([], CHILLED)
    assert empty == Analysis()
    assert empty.count == 0 and not empty.breached and empty.mkt_c is None
    assert mean_kinetic_temperature([]) is None


def test_readings_must_be_aware_and_numbers() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Reading(datetime(2026, 7, 1, 8, 0), 4)
    with pytest.raises(ValueError, match="not a number"):
        Reading(T0, float("nan"))


# --- mean kinetic temperature --------------------------------------------------------------


def test_mkt_against_hand_computed_values() -> None:
    assert DELTA_H_OVER_R == pytest.approx(10_000)
    # Half the time at 2 ℃, half at 12 ℃ (the last reading carries no time):
    # 10000 / -ln((e^(-10000/275.15) + e^(-10000/285.15)) / 2) - 273.15 = 8.414 ℃.
    assert mean_kinetic_temperature(series(2, 12, 2)) == pytest.approx(8.414, abs=1e-3)
    # Twenty minutes at 2 ℃, ten at 12 ℃: weights 2:1, 6.776 ℃.
    uneven = timed((0, 2), (20, 12), (30, 2))
    assert mean_kinetic_temperature(uneven) == pytest.approx(6.776, abs=1e-3)
    # The textbook pair: alternating 25 ℃ and 35 ℃ gives 31.22 ℃, well above the mean of 30.
    assert mean_kinetic_temperature(series(25, 35, 25, 35, 0)) == pytest.approx(31.221, abs=1e-3)
    # No elapsed time at all: one instant, its readings merged (their mean when in range).
    assert mean_kinetic_temperature(timed((0, 2), (0, 12))) == pytest.approx(7)


def test_mkt_is_at_least_the_time_weighted_mean() -> None:
    rng = random.Random(2026)
    for _ in range(50):
        values = [rng.uniform(-25, 40) for _ in range(rng.randint(2, 30))]
        readings = series(*values)
        weighted_mean = math.fsum(values[:-1]) / (len(values) - 1)  # even spacing
        mkt = mean_kinetic_temperature(readings)
        assert mkt is not None and mkt >= weighted_mean - 1e-9
    for constant in (-18.0, 0.0, 4.0, 25.0):
        assert mean_kinetic_temperature(series(*[constant] * 7)) == pytest.approx(constant)
    flat = analyse(series(5, 5, 5, 5), CHILLED)
    assert flat.mkt_c == pytest.approx(flat.mean_c)


# --- the EPCIS sensor report ---------------------------------------------------------------


def test_sensor_report_of_a_breached_shipment() -> None:
    result = analyse(series(4, 9, 10.333, 9, 9, 5), CHILLED)
    report = sensor_report(result, device_id="https://farmgate.example.cn/ns/device/LOG-1")
    assert report == epcis.SensorReport(
        type="Temperature",
        min_value=4,
        max_value=10.33,
        mean_value=7.72,
        uom="CEL",
        exception="ALARM_CONDITION",
        start_time=at(0),
        end_time=at(50),
        device_id="https://farmgate.example.cn/ns/device/LOG-1",
    )
    event = epcis.Event(
        event_id="ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0",
        event_time=at(50),
        biz_step="receiving",
        quantities=(epcis.QuantityElement("https://id.gs1.org/01/06901234567892/10/L1"),),
        sensor_reports=(report,),
    )
    element = epcis.event_dict(event)["sensorElementList"][0]
    assert element["sensorReport"][0]["exception"] == "ALARM_CONDITION"
    assert element["sensorMetadata"]["endTime"] == "2026-07-01T08:50:00+08:00"


def test_sensor_report_within_range_has_no_exception() -> None:
    report = sensor_report(analyse(series(3, 4, 5), CHILLED))
    assert report.exception is None and report.uom == "CEL"
    assert (report.min_value, report.max_value, report.mean_value) == (3, 5, 4)
    empty = sensor_report(analyse([], CHILLED))
    assert empty.min_value is None and empty.exception is None


def test_times_in_any_zone_compare_as_instants() -> None:
    shanghai = Reading(T0, 9)
    utc = Reading(datetime(2026, 7, 1, 0, 40, tzinfo=UTC), 5)  # 08:40 in Shanghai
    result = analyse([utc, shanghai], CHILLED)
    assert result.excursions[0].duration == timedelta(minutes=40)
    assert result.single_breach
