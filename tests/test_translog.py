"""The transparency log on both databases: gapless leaves, proofs from stored subtrees equal to
RFC 9162's recursive definitions at every size, heads published through the outbox, and the
verifier (driven through the app) reporting altered, deleted and misreported records."""

from __future__ import annotations

import base64
import random
from pathlib import Path

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.models import (
    Batch,
    Inspection,
    OutboxJob,
    TraceEvent,
    TranslogHead,
    TranslogLeaf,
    TranslogNode,
    TranslogState,
)
from farmgate.trace import chain
from farmgate.translog import keys, log, tasks
from farmgate.verifier import merkle, note, verify_lot, witness
from farmgate.verifier.entries import leaf_bytes
from tests.support.translog import mth, record_lot

BASE = "http://testserver"


def logged_leaves(session: Session) -> list[bytes]:
    """Every leaf's data, recomputed from the trace records, in leaf order."""
    rows = session.execute(
        select(TraceEvent, Batch)
        .join(TranslogLeaf, col(TranslogLeaf.event_id) == TraceEvent.id)
        .join(Batch, col(Batch.id) == TraceEvent.batch_id)
        .order_by(col(TranslogLeaf.idx))
    ).all()
    return [leaf_bytes(chain.log_entry(batch, event)) for event, batch in rows]


def test_every_event_gets_the_next_leaf_and_proofs_match_the_rfc_at_every_size(
    session: Session, client, farm
) -> None:  # type: ignore[no-untyped-def]
    lot = record_lot(client, farm, "TL-A")
    batch = session.get(Batch, lot["id"])
    assert batch is not None
    for i in range(90):  # more events, logged in rounds of awkward sizes
        chain.append(session, batch, "storing", {"note": f"check {i}"})
    rng = random.Random(7)
    while log.integrate(session, limit=rng.choice([1, 2, 3, 5, 8, 13])):
        pass
    events = session.scalar(select(text("count(*)")).select_from(TraceEvent))
    indices = list(session.scalars(select(col(TranslogLeaf.idx)).order_by(col(TranslogLeaf.idx))))
    assert indices == list(range(events)) and log.size(session) == events == 94

    leaves = logged_leaves(session)
    for size in range(1, len(leaves) + 1):
        root = log.root(session, size)
        assert root == mth(leaves[:size])
        for index in {0, size // 2, size - 1}:
            proof = log.inclusion_proof(session, index, size)
            assert merkle.verify_inclusion(
                index, size, merkle.leaf_hash(leaves[index]), proof, root
            )
        for first in {1, size // 3 or 1, size - 1 or 1}:
            proof = log.consistency_proof(session, first, size)
            assert merkle.verify_consistency(first, size, mth(leaves[:first]), root, proof)
    assert log.integrate(session) == 0  # nothing twice


def test_the_endpoints_give_heads_and_proofs_a_verifier_can_check(
    session: Session, client, farm
) -> None:  # type: ignore[no-untyped-def]
    record_lot(client, farm, "TL-B")
    record_lot(client, farm, "TL-C")
    log.integrate_all(session)
    session.commit()
    key = note.parse_vkey(client.get("/api/v1/translog/key").json()["vkey"])
    assert key == keys.public_key()
    head = client.get("/api/v1/translog/head").json()
    checkpoint = note.open_checkpoint(head["note"], key)
    assert checkpoint.size == head["size"] == 8
    small = client.get("/api/v1/translog/heads/3").json()
    small_cp = note.open_checkpoint(small["note"], key)
    proof = client.get("/api/v1/translog/proof/consistency?first=3&second=8").json()["proof"]
    assert merkle.verify_consistency(
        3, 8, small_cp.root, checkpoint.root, [base64.b64decode(p) for p in proof]
    )
    event = session.scalars(select(TraceEvent).order_by(col(TraceEvent.id).desc())).first()
    assert event is not None
    found = client.get(f"/api/v1/translog/proof/inclusion?event_hash={event.hash}").json()
    assert found["index"] == 7
    assert merkle.verify_inclusion(
        7,
        8,
        base64.b64decode(found["leaf_hash"]),
        [base64.b64decode(p) for p in found["proof"]],
        checkpoint.root,
    )
    assert client.get("/api/v1/translog/heads/9").status_code == 404
    assert client.get("/api/v1/translog/proof/consistency?first=5&second=4").status_code == 404
    assert client.get("/api/v1/translog/proof/inclusion").status_code == 422
    assert client.get("/api/v1/translog/proof/inclusion?index=8").status_code == 404
    assert client.get("/api/v1/translog/lots/NOPE").status_code == 404


def test_the_schedule_logs_new_events_and_publishes_a_head_through_the_outbox(
    session: Session, client, farm
) -> None:  # type: ignore[no-untyped-def]
    record_lot(client, farm, "TL-D")
    assert tasks.integrate(session) == 4
    queued = session.scalars(
        select(OutboxJob).where(col(OutboxJob.job) == "translog.publish_head")
    ).all()
    assert len(queued) == 1
    assert tasks.integrate(session) == 0
    assert tasks.publish_head(session, {}) == 4
    assert tasks.publish_head(session, {}) == 0  # once per size
    row = session.get(TranslogHead, 4)
    assert row is not None
    assert note.open_checkpoint(row.note, keys.public_key()).root == log.root(session, 4)
    listed = client.get("/api/v1/translog/heads").json()
    assert [h["size"] for h in listed] == [4]


def test_the_verifier_passes_a_true_lot_and_reports_an_edit_behind_the_apps_back(
    session: Session, client, farm, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    lot = record_lot(client, farm, "TL-E")
    record_lot(client, farm, "TL-F")
    log.integrate_all(session)
    session.commit()
    state = tmp_path / "seen.json"
    vkey = keys.public_key().vkey
    first = verify_lot(BASE, "TL-E", vkey, state_path=state, client=client)
    assert first.ok, first.problems
    assert first.events == 4 and first.size == 8

    # An inspection's event edited in place (as a direct database edit would).
    event = session.scalars(
        select(TraceEvent).where(
            col(TraceEvent.batch_id) == lot["id"], col(TraceEvent.kind) == "inspecting"
        )
    ).one()
    session.execute(
        update(TraceEvent)
        .where(col(TraceEvent.id) == event.id)
        .values(data={**event.data, "passed": True, "lab": "别的检测机构"})
    )
    session.commit()
    altered = verify_lot(BASE, "TL-E", vkey, state_path=state, client=client)
    assert not altered.ok
    assert any("altered" in p and "event 2" in p for p in altered.problems), altered.problems
    # The other lot is untouched.
    assert verify_lot(BASE, "TL-F", vkey, state_path=state, client=client).ok


def test_the_verifier_reports_a_fact_on_the_page_that_the_events_do_not_bear_out(
    session: Session, client, farm, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    lot = record_lot(client, farm, "TL-G")
    log.integrate_all(session)
    session.execute(
        update(Inspection).where(col(Inspection.batch_id) == lot["id"]).values(passed=False)
    )
    session.execute(update(Batch).where(col(Batch.id) == lot["id"]).values(plot_name="别处的地"))
    session.commit()
    report = verify_lot(
        BASE, "TL-G", keys.public_key(), state_path=tmp_path / "s.json", client=client
    )
    assert any("inspection HH-TL-G" in p for p in report.problems), report.problems
    assert any("plot shown '别处的地'" in p for p in report.problems), report.problems


def _delete_tail(session: Session, keep: int) -> None:
    """Cut the log (leaves, their events, the subtrees they finished) back to ``keep`` leaves,
    as a restored old backup or a hand edit would."""
    gone = list(session.scalars(select(TranslogLeaf).where(col(TranslogLeaf.idx) >= keep)))
    session.execute(delete(TranslogLeaf).where(col(TranslogLeaf.idx) >= keep))
    session.execute(
        delete(TraceEvent).where(col(TraceEvent.id).in_([leaf.event_id for leaf in gone]))
    )
    for level in range(1, 20):
        session.execute(
            delete(TranslogNode).where(
                col(TranslogNode.level) == level, col(TranslogNode.idx) >= keep >> level
            )
        )
    session.execute(update(TranslogState).values(size=keep))
    session.commit()


def test_the_verifier_reports_the_tail_of_the_log_deleted_and_rewritten(
    session: Session, client, farm, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    record_lot(client, farm, "TL-H")
    log.integrate_all(session)
    session.commit()
    state = tmp_path / "seen.json"
    key = keys.public_key()
    assert verify_lot(BASE, "TL-H", key, state_path=state, client=client).ok

    _delete_tail(session, 2)  # the packing and storing events, and their leaves
    shrunk = verify_lot(BASE, "TL-H", key, state_path=state, client=client)
    assert any("shrank from 4 to 2" in p for p in shrunk.problems), shrunk.problems

    # Two other events take their places: the log has 4 leaves again, another history.
    batch = session.scalars(select(Batch).where(col(Batch.lot_code) == "TL-H")).one()
    chain.append(session, batch, "packing", {"note": "重新包装"})
    chain.append(session, batch, "storing", {})
    log.integrate_all(session)
    session.commit()
    rewritten = verify_lot(BASE, "TL-H", key, state_path=state, client=client)
    assert any("rewritten" in p for p in rewritten.problems), rewritten.problems
    # A verifier that never saw the old log finds this one consistent: that is what the
    # state file (and witnesses) are for.
    fresh = verify_lot(BASE, "TL-H", key, state_path=tmp_path / "new.json", client=client)
    assert fresh.ok, fresh.problems


def test_a_witness_keeps_heads_and_detects_a_fork(
    session: Session, client, farm, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    record_lot(client, farm, "TL-W")
    log.integrate_all(session)
    session.commit()
    key = keys.public_key()
    store = tmp_path / "county"
    assert witness.pull(BASE, store, key, client=client).ok
    record_lot(client, farm, "TL-X")
    log.integrate_all(session)
    session.commit()
    pulled = witness.pull(BASE, store, key, client=client)
    assert pulled.ok and pulled.stored == 2 and pulled.latest == 8
    assert sorted(p.name for p in (store / "heads").iterdir()) == ["4.note", "8.note"]
    assert witness.check(BASE, store, key, client=client).ok

    # The site rewrites its history after leaf 3 and regrows to the same size.
    _delete_tail(session, 3)
    batch = session.scalars(select(Batch).where(col(Batch.lot_code) == "TL-X")).one()
    for step in ("packing", "storing", "shipping", "receiving", "storing"):
        chain.append(session, batch, step, {})
    log.integrate_all(session)
    session.commit()
    checked = witness.check(BASE, store, key, client=client)
    assert not checked.ok
    assert any("fork at size 4" in p for p in checked.problems), checked.problems
    assert (store / "evidence" / "fork-4.json").exists()
    refused = witness.pull(BASE, store, key, client=client)
    assert not refused.ok and refused.stored == 2

    # A stored head edited on the witness's disk no longer verifies.
    path = store / "heads" / "4.note"
    path.write_text(path.read_text().replace("\n4\n", "\n5\n"))
    assert any(
        "4.note does not verify" in p
        for p in witness.check(BASE, store, key, client=client).problems
    )


def test_a_lots_view_counts_unlogged_events_and_hides_unpublished_cooperatives(
    session: Session, client, farm
) -> None:  # type: ignore[no-untyped-def]
    from farmgate.models import Cooperative, CooperativeStatus

    record_lot(client, farm, "TL-P")
    view = client.get("/api/v1/translog/lots/TL-P").json()
    assert view["entries"] == [] and view["waiting"] == 4 and view["head"]["size"] == 0
    assert view["facts"]["inspections"][0]["report_no"] == "HH-TL-P"
    log.integrate_all(session)
    session.commit()
    view = client.get("/api/v1/translog/lots/TL-P").json()
    assert [e["index"] for e in view["entries"]] == [0, 1, 2, 3] and view["waiting"] == 0
    session.execute(
        update(Cooperative)
        .where(col(Cooperative.id) == farm["coop"].id)
        .values(status=CooperativeStatus.SUSPENDED)
    )
    session.commit()
    hidden = client.get("/api/v1/translog/lots/TL-P")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "producer_not_approved"
