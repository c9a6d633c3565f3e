"""One idempotency helper for couriers' forms (farmgate.submissions)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate import submissions
from farmgate.models import FormSubmission


def test_a_token_finds_what_it_recorded_in_its_own_kind_only(session: Session) -> None:
    assert submissions.first_record(session, "handoff", "tok-aaaa-1") is None
    submissions.remember(session, "handoff", "tok-aaaa-1", 42)
    assert submissions.first_record(session, "handoff", "tok-aaaa-1") == 42
    assert submissions.first_record(session, "parcel_step", "tok-aaaa-1") is None
    submissions.remember(session, "parcel_step", "tok-aaaa-1", 7)  # same token, other kind
    assert submissions.first_record(session, "parcel_step", "tok-aaaa-1") == 7


def test_a_form_without_a_token_is_never_a_repeat(session: Session) -> None:
    submissions.remember(session, "handoff", None, 1)
    submissions.remember(session, "handoff", "", 1)
    assert session.query(FormSubmission).count() == 0
    assert submissions.first_record(session, "handoff", None) is None
