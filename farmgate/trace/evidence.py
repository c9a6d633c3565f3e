"""Certifications: recorded with their codes checked, shown with their validity today."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from farmgate.errors import ValidationFailed
from farmgate.models import Account, Batch, Certification
from farmgate.timeutil import local_today
from farmgate.trace import certificates, chain
from farmgate.trace.schemas import CertificationIn


def add_certification(
    session: Session, actor: Account, batch: Batch, data: CertificationIn
) -> Certification:
    """Attach a certification to the batch, its product, or its whole cooperative."""
    try:
        code = certificates.validate_code(data.kind, data.code)
    except certificates.CertificateInvalid as exc:
        raise ValidationFailed(str(exc), fields={"code": str(exc)}) from exc
    if data.kind == "compliance_cert":
        if data.scope != "batch":
            raise ValidationFailed("承诺达标合格证按批次开具", fields={"scope": "应为 batch"})
        compliance = certificates.ComplianceCertificate.from_details(data.details, data.issued_on)
        errors = compliance.validate(today=local_today())
        if errors:
            raise ValidationFailed("承诺达标合格证信息不完整", fields=errors)
    elif not code:
        raise ValidationFailed("请填写证书编号", fields={"code": "必填"})
    expires = certificates.valid_until(data.kind, data.issued_on, data.expires_on)
    if expires is not None and expires < data.issued_on:
        raise ValidationFailed("有效期不能早于发证日期", fields={"expires_on": "请核对日期"})
    cert = Certification(
        cooperative_id=batch.cooperative_id,
        product_id=batch.product_id if data.scope in ("batch", "product") else None,
        batch_id=batch.id if data.scope == "batch" else None,
        kind=data.kind,
        code=code,
        issuer=data.issuer,
        issued_on=data.issued_on,
        expires_on=expires,
        details=data.details,
    )
    session.add(cert)
    session.flush()
    if data.scope == "batch":
        chain.append(
            session,
            batch,
            "inspecting" if data.kind != "compliance_cert" else "certifying",
            {"certification": data.kind, "code": code, "issued_on": data.issued_on.isoformat()},
            actor_id=actor.id,
        )
    return cert


def certification_view(cert: Certification, today: date | None = None) -> dict[str, Any]:
    state = certificates.status(cert.kind, cert.issued_on, cert.expires_on, today or local_today())
    summary = ""
    if cert.kind == "compliance_cert":
        d = cert.details
        basis = certificates.BASIS_LABELS.get(d.get("basis", ""), "")
        summary = (
            f"{d.get('committer', '')}（{d.get('contact', '')}）承诺：{certificates.COMMITMENT}。"
            f"依据：{basis}。{d.get('product_name', '')} {d.get('quantity', '')}"
            f"{d.get('unit', '')}，产地 {d.get('origin', '')}"
        )
    return {
        "kind": cert.kind,
        "label": certificates.LABELS.get(cert.kind, cert.kind),
        "code": cert.code,
        "issuer": cert.issuer,
        "issued_on": cert.issued_on,
        "expires_on": cert.expires_on,
        "status": state,
        "status_label": certificates.STATUS_LABELS[state],
        "summary": summary,
    }
