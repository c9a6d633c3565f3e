"""The demo seed builds a browsable township, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from farmgate.catalog import service
from farmgate.demo.seed import VILLAGES, seed
from farmgate.models import Batch, Cooperative, Village
from farmgate.trace import chain, facts
from farmgate.trace import service as trace_service
from farmgate.translog import keys, log
from farmgate.validators import normalize_uscc
from farmgate.verifier import verify_lot


def test_demo_seed_is_complete_and_idempotent(
    session: Session, media_dir, client, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    credentials = seed(session)
    assert "乡镇管理员" in credentials
    assert [v.name for v in session.query(Village).order_by(Village.id)] == VILLAGES
    coops = session.query(Cooperative).all()
    assert all(normalize_uscc(c.uscc) == c.uscc for c in coops)
    assert all("示例" in c.name for c in coops)  # clearly marked as sample data
    items, total = service.list_public(session, service.CatalogFilters())
    assert total >= 8
    assert all(i.cover is not None and i.cover.urls for i in items)  # photos went through Pillow
    assert items[-1].name == "谭家场干红辣椒"  # the first listed (newest first)
    assert list(media_dir.rglob("*.webp"))
    # The money: the sample history in the ledger, balanced, and last month's statement full.
    from farmgate.ledger import checks, statements

    assert checks.all_problems(session) == []
    last = statements.month().previous()
    filled = [statements.build(session, c.id, last) for c in coops]  # type: ignore[arg-type]
    assert any(s.order_count and s.totals.get("payout") for s in filled)
    # Each sample event was recorded when it happened, as if entered then: none is 补录 (late),
    # and every chain still verifies.
    lots = session.query(Batch).all()
    assert lots
    for lot in lots:
        events = trace_service.events(session, lot)
        assert [e.seq for e in events if facts.is_late(e)] == [], lot.lot_code
        assert all(e.recorded_at >= e.event_time for e in events), lot.lot_code
        assert chain.verify(session, lot, events).intact, lot.lot_code
        assert facts.check(session, lot, events) == [], lot.lot_code
    # ... and the transparency log proves each lot to the standalone verifier (`farmgate verify`).
    log.integrate_all(session)
    log.publish(session)
    session.commit()
    for lot in lots:
        report = verify_lot(
            "http://testserver",
            lot.lot_code,
            keys.public_key().vkey,
            gtin=lot.gtin,
            state_path=tmp_path / "seen.json",
            client=client,
        )
        assert report.ok, (lot.lot_code, report.problems)
    assert seed(session) == {}  # a second run changes nothing
    assert session.query(Village).count() == len(VILLAGES)


def test_only_the_demo_seed_records_events_as_of_another_time() -> None:
    """The record time is the server's clock in every real flow: the demo's backdating hook
    is called from nowhere but the demo seed, and cannot record in the future."""
    root = Path(__file__).resolve().parent.parent / "farmgate"
    users = {
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "recording_as_of" in p.read_text(encoding="utf-8")
    }
    assert users == {"trace/chain.py", "demo/trace_seed.py"}
    with pytest.raises(ValueError, match="future"):
        with chain.recording_as_of(datetime.now(UTC) + timedelta(hours=1)):
            pass
