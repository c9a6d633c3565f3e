"""The demo seed builds a browsable township, on both databases."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.catalog import service
from farmgate.demo.seed import VILLAGES, seed
from farmgate.models import Cooperative, Village
from farmgate.validators import normalize_uscc


def test_demo_seed_is_complete_and_idempotent(session: Session, media_dir) -> None:  # type: ignore[no-untyped-def]
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
    assert seed(session) == {}  # a second run changes nothing
    assert session.query(Village).count() == len(VILLAGES)
