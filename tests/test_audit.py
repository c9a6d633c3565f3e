"""The console's audit log: entries are added with the actor and the record before and after."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.models import Role
from tests.support import factories as f


def test_entries_are_recorded_and_listed_newest_first(session: Session) -> None:
    admin = f.create_account(session, role=Role.ADMIN)
    audit.record(session, admin, "cooperative.approve", "cooperative", 7, "批准合作社 示例")
    audit.record(
        session,
        admin,
        "product.reject",
        "product",
        3,
        "退回商品 腊肉",
        before={"status": "pending_review"},
        after={"status": "draft", "review_note": "图片不清楚"},
    )
    newest, oldest = audit.entries(session)
    assert (newest.action, newest.target_id, newest.actor_id) == ("product.reject", 3, admin.id)
    assert newest.before == {"status": "pending_review"}
    assert newest.after == {"status": "draft", "review_note": "图片不清楚"}
    assert oldest.action == "cooperative.approve" and oldest.at <= newest.at
    assert [e.action for e in audit.entries(session, action="product")] == ["product.reject"]
    assert [e.target_id for e in audit.entries(session, target="cooperative")] == [7]
