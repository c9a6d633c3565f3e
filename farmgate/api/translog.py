"""The transparency log's public, read-only endpoints (docs/translog.md): signed heads,
inclusion and consistency proofs, and a lot's logged events with their proofs.

Hashes are base64, as in the signed checkpoints; event hashes stay hex, as in the trace chain.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from farmgate.callbacks import API_PREFIX
from farmgate.errors import NotFound, ValidationFailed
from farmgate.translog import keys, log, public
from farmgate.web.session import SessionDep

router = APIRouter(prefix=f"{API_PREFIX}/translog", tags=["透明日志"])


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class KeyOut(BaseModel):
    origin: str
    algorithm: str = "Ed25519"
    vkey: str  # Go note verifier key: origin+keyhash+base64(0x01 || public key)
    public_key: str  # the raw 32-byte key, base64


class HeadOut(BaseModel):
    size: int
    root: str
    note: str  # the signed checkpoint (Go signed note)


class PublishedHeadOut(HeadOut):
    published_at: str


class InclusionOut(BaseModel):
    index: int
    size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyOut(BaseModel):
    first: int
    second: int
    proof: list[str]


class LotEntryOut(BaseModel):
    index: int
    entry: dict[str, Any] | None  # None: the logged event is missing from the trace records
    proof: list[str]


class LotOut(BaseModel):
    gtin: str
    lot: str
    head: HeadOut
    entries: list[LotEntryOut]
    waiting: int  # events recorded but not logged yet (logged within a minute)
    facts: dict[str, Any]


def head_out(head: log.Head) -> HeadOut:
    return HeadOut(size=head.size, root=b64(head.root), note=head.note)


@router.get("/key", response_model=KeyOut, summary="日志签名公钥")
def key() -> KeyOut:
    pk = keys.public_key()
    return KeyOut(origin=pk.name, vkey=pk.vkey, public_key=b64(pk.public))


@router.get("/head", response_model=HeadOut, summary="最新的签名树头")
def latest_head(session: SessionDep) -> HeadOut:
    return head_out(log.head(session))


@router.get("/heads", response_model=list[PublishedHeadOut], summary="已按计划发布的树头")
def published_heads(
    session: SessionDep, limit: int = Query(100, ge=1, le=1000)
) -> list[PublishedHeadOut]:
    return [
        PublishedHeadOut(
            size=row.size,
            root=b64(row.root),
            note=row.note,
            published_at=row.published_at.isoformat(),
        )
        for row in log.published(session, limit)
    ]


@router.get("/heads/{size}", response_model=HeadOut, summary="指定大小的签名树头")
def head_at(size: int, session: SessionDep) -> HeadOut:
    return head_out(log.head(session, size))


@router.get("/proof/inclusion", response_model=InclusionOut, summary="记录的包含证明")
def inclusion(
    session: SessionDep,
    size: int | None = Query(None, ge=0, description="树的大小；默认最新"),
    index: int | None = Query(None, ge=0, description="叶子序号（从 0 起）"),
    event_hash: str | None = Query(None, pattern="^[0-9a-f]{64}$", description="事件哈希"),
    event_id: int | None = Query(None, ge=1),
) -> InclusionOut:
    if index is None:
        if event_hash is None and event_id is None:
            raise ValidationFailed(
                "请给出 index、event_hash 或 event_id 之一", fields={"index": "必填其一"}
            )
        leaf = log.find_leaf(session, event_hash=event_hash, event_id=event_id)
        if leaf is None:
            raise NotFound("该事件尚未记入日志", code="not_logged")
        index = leaf.idx
    tree_size = log.size(session) if size is None else size
    proof = log.inclusion_proof(session, index, tree_size)
    leaf_hash = log.leaf_hash(session, index)
    return InclusionOut(
        index=index, size=tree_size, leaf_hash=b64(leaf_hash), proof=[b64(p) for p in proof]
    )


@router.get("/proof/consistency", response_model=ConsistencyOut, summary="两个树大小间的一致性证明")
def consistency(
    session: SessionDep,
    first: int = Query(ge=0),
    second: int | None = Query(None, ge=0, description="默认最新"),
) -> ConsistencyOut:
    to = log.size(session) if second is None else second
    proof = log.consistency_proof(session, first, to)
    return ConsistencyOut(first=first, second=to, proof=[b64(p) for p in proof])


@router.get("/lots/{lot}", response_model=LotOut, summary="批次的日志记录及其包含证明")
def lot_view(
    lot: str,
    session: SessionDep,
    gtin: str | None = Query(None, description="多个商品共用批次号时必填"),
    size: int | None = Query(None, ge=0, description="树的大小；默认最新"),
) -> LotOut:
    batch = public.find_lot(session, lot, gtin)
    head = log.head(session, size)
    entries, waiting = log.lot_entries(session, batch, head.size)
    return LotOut(
        gtin=batch.gtin,
        lot=batch.lot_code,
        head=head_out(head),
        entries=[
            LotEntryOut(index=e.index, entry=e.entry, proof=[b64(p) for p in e.proof])
            for e in entries
        ],
        waiting=waiting,
        facts=public.facts(session, batch),
    )
