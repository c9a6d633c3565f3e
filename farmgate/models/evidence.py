"""Inspection reports and certifications that back a batch, a product or a cooperative."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlmodel import Field, SQLModel

from farmgate.db import AwareDateTime, utcnow
from farmgate.models.labels import Labelled, labelled


@labelled(
    {
        "green_food": "绿色食品",
        "organic": "有机产品",
        "geo_indication": "农产品地理标志",
        "compliance_cert": "承诺达标合格证",
    }
)
class CertificationKind(Labelled):
    GREEN_FOOD = "green_food"
    ORGANIC = "organic"
    GEO_INDICATION = "geo_indication"
    COMPLIANCE_CERT = "compliance_cert"


class Inspection(SQLModel, table=True):
    __tablename__ = "inspection"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    lab: str = Field(max_length=80)
    report_no: str = Field(max_length=40)
    inspected_on: date
    # [{"name": "毒死蜱", "result": "未检出", "limit": "≤0.02 mg/kg", "passed": true}, ...]
    items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    passed: bool
    report_file: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class Certification(SQLModel, table=True):
    """绿色食品, 有机产品, 农产品地理标志 (product or cooperative) or 承诺达标合格证 (per batch)."""

    __tablename__ = "certification"

    id: int | None = Field(default=None, primary_key=True)
    cooperative_id: int = Field(foreign_key="cooperative.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="product.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    kind: str = Field(sa_type=String(20))
    code: str = Field(default="", max_length=40)
    issuer: str = Field(default="", max_length=80)
    issued_on: date
    expires_on: date | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
