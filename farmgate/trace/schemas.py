"""What callers send to the trace service; limits bind the API and the domain alike."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from farmgate.gs1.digital_link import InvalidDigitalLink, validate_ai_value

HandlingStep = Literal["packing", "storing", "shipping", "receiving", "retail_selling"]


class BatchIn(BaseModel):
    product_id: int
    lot_code: str = Field(min_length=1, max_length=20, description="批次号（GS1 AI 10）")
    quantity: Decimal = Field(gt=0, max_digits=14, decimal_places=3)
    unit: str = Field(min_length=1, max_length=10, description="kg、袋、箱……")
    village_code: str | None = Field(default=None, max_length=12)
    plot_name: str = Field(default="", max_length=60)
    latitude: float | None = Field(default=None, ge=3, le=54)  # mainland China's span
    longitude: float | None = Field(default=None, ge=73, le=136)
    area_mu: Decimal | None = Field(default=None, gt=0, max_digits=10, decimal_places=2)
    producer: str = Field(default="", max_length=60)

    @field_validator("lot_code")
    @classmethod
    def _lot(cls, value: str) -> str:
        try:
            return validate_ai_value("10", value)
        except InvalidDigitalLink as exc:
            raise ValueError("批次号只能包含字母、数字和常用符号，最多 20 位") from exc


class InputIn(BaseModel):
    kind: Literal["fertiliser", "pesticide"]
    product_name: str = Field(min_length=1, max_length=60)
    registration_no: str = Field(default="", max_length=30)
    dose: str = Field(min_length=1, max_length=40, description="如 50 毫升/亩")
    applied_on: date
    preharvest_interval_days: int = Field(default=0, ge=0, le=365, description="安全间隔期（天）")
    operator: str = Field(default="", max_length=30)


class HarvestIn(BaseModel):
    harvest_date: date
    at: AwareDatetime | None = Field(
        default=None, description="采收时间（事件发生的时间），默认采收日 0 点；记录时间另行保存"
    )
    note: str = Field(default="", max_length=200)


class InspectionItem(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    result: str = Field(min_length=1, max_length=40)
    limit: str = Field(default="", max_length=40)
    passed: bool


class InspectionIn(BaseModel):
    lab: str = Field(min_length=1, max_length=80)
    report_no: str = Field(min_length=1, max_length=40)
    inspected_on: date
    items: list[InspectionItem] = Field(min_length=1, max_length=200)


class CertificationIn(BaseModel):
    kind: Literal["green_food", "organic", "geo_indication", "compliance_cert"]
    code: str = Field(default="", max_length=40)
    issuer: str = Field(default="", max_length=80)
    issued_on: date
    expires_on: date | None = None
    scope: Literal["batch", "product", "cooperative"] = "batch"
    details: dict[str, Any] = Field(default_factory=dict)


class StepIn(BaseModel):
    step: HandlingStep
    at: AwareDatetime | None = None
    place: str = Field(default="", max_length=80)
    from_party: str = Field(default="", max_length=60)
    to_party: str = Field(default="", max_length=60)
    note: str = Field(default="", max_length=200)


class CorrectionIn(BaseModel):
    seq: int = Field(ge=1, description="被更正事件的序号")
    reason: Literal["incorrect_data", "did_not_occur"] = "incorrect_data"
    note: str = Field(min_length=1, max_length=200)
    corrected: dict[str, Any] = Field(default_factory=dict, description="更正后的内容")


class TransformInput(BaseModel):
    batch_id: int
    quantity: Decimal = Field(gt=0, max_digits=14, decimal_places=3)
    unit: str = Field(min_length=1, max_length=10)


class TransformIn(BaseModel):
    inputs: list[TransformInput] = Field(min_length=1, max_length=50)
    output: BatchIn
    process: str = Field(default="", max_length=60, description="如 晾晒、烘干、混合")
    at: AwareDatetime | None = None


class RecallIn(BaseModel):
    reason: str = Field(min_length=2, max_length=200)


class BatchOut(BaseModel):
    id: int
    cooperative_id: int
    product_id: int
    lot_code: str
    gtin: str
    quantity: Decimal
    unit: str
    harvest_date: date | None
    village_code: str | None
    plot_name: str
    latitude: float | None
    longitude: float | None
    area_mu: Decimal | None
    producer: str
    status: str
    recall_reason: str
    excursion: bool
    trace_url: str = ""


class EventOut(BaseModel):
    seq: int
    kind: str
    label: str
    event_time: datetime  # when it happened (entered by the person or device)
    recorded_at: datetime | None = None  # when it was recorded
    data: dict[str, Any]
    prev_hash: str
    hash: str


class ChainOut(BaseModel):
    intact: bool
    events: int
    head: str
    broken_at: int | None
    reason: str
