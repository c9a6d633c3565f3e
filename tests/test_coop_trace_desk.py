"""The desk's 批次与溯源 pages, through HTML forms alone (no JavaScript), on both databases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import zxingcpp
from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.models import (
    Batch,
    BatchInput,
    Certification,
    ColdShipment,
    Inspection,
    Role,
    TemperatureReading,
    Township,
)
from farmgate.timeutil import local_today
from tests.support import factories as f
from tests.support.labels import pdf_pages

TODAY = local_today()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _desk(client, session: Session, **product):  # type: ignore[no-untyped-def]
    """A signed-in cooperative with one product; returns (staff, product, csrf token)."""
    township = f.create_township(session)
    coop = f.create_cooperative(session, township, name="红辣椒合作社")
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    item = f.create_product(
        session, staff, f.first_village(session, township), **{"name": "鲜红辣椒", **product}
    )
    session.commit()
    f.login_browser(client, session, staff)
    return staff, item, _csrf(client.get("/coop/batches").text)


def _new_lot(client, token: str, product_id: int, **extra: str) -> int:  # type: ignore[no-untyped-def]
    form = client.get(f"/coop/batches/new?product={product_id}")
    code = re.search(r'id="lot_code" name="lot_code" type="text" value="([^"]*)"', form.text)
    assert (code and code.group(1) == f"XHLJ{TODAY:%y%m}A") or code.group(1).startswith("XHLJ")  # type: ignore[union-attr]
    body = {
        "csrf_token": token,
        "product_id": str(product_id),
        "lot_code": code.group(1),  # type: ignore[union-attr]
        "plot_name": "3 号地",
        "quantity": "500",
        "unit": "公斤",
        "producer": "张三",
        **extra,
    }
    made = client.post("/coop/batches/new", data=body)
    assert made.status_code == 200 and "批次已登记" in made.text, made.text[:2000]
    return int(made.url.path.rsplit("/", 1)[1])


def _pesticide(client, token: str, lot: int, days_ago: int, interval: int):  # type: ignore[no-untyped-def]
    return client.post(
        f"/coop/batches/{lot}/inputs/new",
        data={
            "csrf_token": token,
            "kind": "pesticide",
            "product_name": "吡虫啉",
            "dose": "每亩 50 毫升",
            "applied_on": str(TODAY - timedelta(days=days_ago)),
            "preharvest_interval_days": str(interval),
        },
    )


def _pdf_report() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_lot_from_harvest_to_certificate_and_labels(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _staff, product, token = _desk(client, session)
    # A pesticide two days ago with a 14-day interval: harvest today is refused, with the day.
    early = _new_lot(client, token, product.id)  # type: ignore[arg-type]
    assert _pesticide(client, token, early, 2, 14).status_code == 200
    ready = TODAY + timedelta(days=12)
    page = client.get(f"/coop/batches/{early}")
    assert f"安全间隔期未满：最早 {ready} 可采收/放行" in page.text
    refused = client.post(
        f"/coop/batches/{early}/harvest",
        data={"csrf_token": token, "harvest_date": str(TODAY), "note": "第一茬"},
    )
    assert refused.status_code == 422
    assert f"最早可于 {ready} 采收" in refused.text and 'href="#harvest_date"' in refused.text
    assert f'value="{TODAY}"' in refused.text and "第一茬" in refused.text  # what was typed
    assert session.get(Batch, early).harvest_date is None  # type: ignore[union-attr]
    # The next lot's interval has passed: harvested, inspected, certified, coded.
    lot = _new_lot(client, token, product.id)  # type: ignore[arg-type]
    assert session.get(Batch, lot).lot_code == f"XHLJ{TODAY:%y%m}B"  # type: ignore[union-attr]
    _pesticide(client, token, lot, 30, 7)
    done = client.post(
        f"/coop/batches/{lot}/harvest", data={"csrf_token": token, "harvest_date": str(TODAY)}
    )
    assert "采收已登记" in done.text and "安全间隔期已满" in done.text
    inspected = client.post(
        f"/coop/batches/{lot}/inspections/new",
        data={
            "csrf_token": token,
            "lab": "辰溪县农产品检测站",
            "report_no": "CX-2026-001",
            "inspected_on": str(TODAY),
            "item_1": "毒死蜱",
            "result_1": "未检出",
            "passed_1": "1",
        },
        files={"report": ("报告.pdf", _pdf_report(), "application/pdf")},
    )
    assert "检测报告已保存" in inspected.text
    report = session.query(Inspection).filter_by(batch_id=lot).one()
    assert report.passed and report.report_file and report.report_file.endswith(".pdf")

    form = client.get(f"/coop/batches/{lot}/compliance/new")
    assert 'value="鲜红辣椒"' in form.text and 'value="红辣椒合作社"' in form.text
    issued = client.post(
        f"/coop/batches/{lot}/compliance/new",
        data={
            "csrf_token": token,
            "product_name": "鲜红辣椒",
            "quantity": "500",
            "unit": "公斤",
            "origin": "谭家场乡谭家场村",
            "committer": "红辣椒合作社",
            "contact": "13800000001",
            "issued_on": str(TODAY),
            "bases": ["commissioned_test", "self_commitment"],
        },
    )
    assert "合格证已开具" in issued.text
    cert = session.query(Certification).filter_by(batch_id=lot, kind="compliance_cert").one()
    assert cert.details["bases"] == ["commissioned_test", "self_commitment"]
    for size, (width, height) in (("A6", (1240, 1748)), ("A4", (2480, 3508))):
        pdf = client.get(f"/coop/batches/{lot}/compliance/{cert.id}.pdf?size={size}")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        [(_page, image)] = pdf_pages(pdf.content)
        assert image.size == (width, height)
        found = zxingcpp.read_barcodes(image.convert("L"))
        assert found and all(f"/10/XHLJ{TODAY:%y%m}B" in r.text for r in found)
    assert client.get(f"/coop/batches/{lot}/compliance/{cert.id}.pdf?size=B5").status_code == 422

    coded = client.post(f"/coop/batches/{lot}/serials", data={"csrf_token": token, "count": "20"})
    assert "单品码已发放" in coded.text and session.get(Batch, lot).serial_count == 20  # type: ignore[union-attr]
    assert f'src="/coop/batches/{lot}/qr.png"' in coded.text
    assert client.get(f"/coop/batches/{lot}/qr.png").content[:4] == b"\x89PNG"
    unit = client.get(f"/coop/batches/{lot}/labels.pdf?kind=unit&layout=a4-40&start=1&count=20")
    assert unit.status_code == 200
    [(_p, sheet)] = pdf_pages(unit.content)
    texts = {r.text for r in zxingcpp.read_barcodes(sheet.convert("L"))}
    assert len(texts) >= 15 and all("/21/" in t for t in texts)
    lot_sheet = client.get(f"/coop/batches/{lot}/labels.pdf?kind=lot&layout=a5-8&count=8")
    [(_p, sheet)] = pdf_pages(lot_sheet.content)
    texts = {r.text for r in zxingcpp.read_barcodes(sheet.convert("L"))}
    assert len(texts) == 1 and "/21/" not in texts.pop()
    too_many = client.get(f"/coop/batches/{lot}/labels.pdf?kind=unit&layout=a4-40&start=5&count=20")
    assert too_many.status_code == 422 and "最多打印 16 张" in too_many.text
    # Every page of the section stays small.
    for url in (
        "/coop/batches",
        f"/coop/batches/{lot}",
        f"/coop/batches/{lot}/harvest",
        f"/coop/batches/{lot}/inputs/new",
        f"/coop/batches/{lot}/inspections/new",
        f"/coop/batches/{lot}/certifications/new",
        f"/coop/batches/{lot}/compliance/new",
        f"/coop/batches/{lot}/serials",
        f"/coop/batches/{lot}/labels",
        f"/coop/batches/{lot}/shipments/new",
    ):
        answer = client.get(url)
        assert answer.status_code == 200 and len(answer.content) <= 30 * 1024, url


def test_bad_input_is_shown_beside_its_field_and_nothing_changes(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _staff, product, token = _desk(client, session)
    empty = client.post("/coop/batches/new", data={"csrf_token": token, "quantity": "很多"})
    assert empty.status_code == 422
    for message in ("请选择商品", "数量只能填数字", "请填写单位", "请填写生产者"):
        assert message in empty.text
    assert 'value="很多"' in empty.text and session.query(Batch).count() == 0
    lot = _new_lot(client, token, product.id)  # type: ignore[arg-type]
    future = client.post(
        f"/coop/batches/{lot}/harvest",
        data={"csrf_token": token, "harvest_date": str(TODAY + timedelta(days=3))},
    )
    assert future.status_code == 422 and "采收日期不能晚于今天" in future.text
    assert session.get(Batch, lot).harvest_date is None  # type: ignore[union-attr]
    bad_input = client.post(
        f"/coop/batches/{lot}/inputs/new",
        data={"csrf_token": token, "kind": "pesticide", "product_name": "吡虫啉",
              "dose": "", "applied_on": "昨天", "preharvest_interval_days": "七"},
    )  # fmt: skip
    assert bad_input.status_code == 422
    for message in ("请填写用量", "施用日期格式不对", "安全间隔期只能填整数"):
        assert message in bad_input.text
    assert session.query(BatchInput).count() == 0
    renamed = client.post(
        f"/coop/batches/{lot}/inspections/new",
        data={"csrf_token": token, "lab": "检测站", "report_no": "R1",
              "inspected_on": str(TODAY), "item_1": "毒死蜱", "result_1": "未检出",
              "passed_1": "1"},
        files={"report": ("报告.pdf", b"just text, not a PDF", "application/pdf")},
    )  # fmt: skip
    assert renamed.status_code == 422 and "不是真正的 PDF" in renamed.text
    assert 'value="检测站"' in renamed.text and session.query(Inspection).count() == 0
    not_photo = client.post(
        f"/coop/batches/{lot}/inspections/new",
        data={"csrf_token": token, "lab": "检测站", "report_no": "R1",
              "inspected_on": str(TODAY), "item_1": "毒死蜱", "result_1": "未检出",
              "passed_1": "1"},
        files={"report": ("报告.jpg", b"not an image", "image/jpeg")},
    )  # fmt: skip
    assert not_photo.status_code == 422 and "不是 PDF，也不是能打开的照片" in not_photo.text
    assert session.query(Inspection).count() == 0
    # No harvest yet: no 合格证; then no basis ticked.
    unharvested = client.post(
        f"/coop/batches/{lot}/compliance/new",
        data={"csrf_token": token, "product_name": "鲜红辣椒", "quantity": "5",
              "unit": "公斤", "origin": "谭家场", "committer": "合作社",
              "contact": "13800000001", "issued_on": str(TODAY), "bases": "self_test"},
    )  # fmt: skip
    assert unharvested.status_code == 422 and "请先登记采收" in unharvested.text
    client.post(
        f"/coop/batches/{lot}/harvest", data={"csrf_token": token, "harvest_date": str(TODAY)}
    )
    no_basis = client.post(
        f"/coop/batches/{lot}/compliance/new",
        data={"csrf_token": token, "product_name": "鲜红辣椒", "quantity": "五百",
              "unit": "公斤", "origin": "谭家场", "committer": "合作社",
              "contact": "12345", "issued_on": str(TODAY)},
    )  # fmt: skip
    assert no_basis.status_code == 422
    for message in ("请至少选择一项开具依据", "数量须为数字", "有效的手机号"):
        assert message in no_basis.text
    assert 'href="#bases"' in no_basis.text and 'value="五百"' in no_basis.text
    assert session.query(Certification).count() == 0
    for count in ("", "二十", "0", "5000"):
        refused = client.post(
            f"/coop/batches/{lot}/serials", data={"csrf_token": token, "count": count}
        )
        assert refused.status_code == 422, count
    assert session.get(Batch, lot).serial_count == 0  # type: ignore[union-attr]
    no_units = client.get(f"/coop/batches/{lot}/labels.pdf?kind=unit&layout=a4-40&count=5")
    assert no_units.status_code == 422 and "还没有发放单品码" in no_units.text
    cert = client.post(
        f"/coop/batches/{lot}/certifications/new",
        data={"csrf_token": token, "kind": "green_food", "code": "LB-12-345",
              "issued_on": str(TODAY), "scope": "product"},
    )  # fmt: skip
    assert cert.status_code == 422 and "GF 加 12 位数字" in cert.text


def _logger_csv() -> str:
    """Readings over the last hours (the shipment looks at its own days): 4 good, 2 bad."""
    start = utcnow().replace(microsecond=0) - timedelta(hours=4)
    at = [(start + timedelta(minutes=30 * i)).isoformat() for i in range(6)]
    return (
        "device_id,seq,at,celsius\n"
        f"LOG-7,1,{at[0]},3.0\n"
        f"LOG-7,2,{at[1]},hot\n"
        f"LOG-7,3,{at[2]},12.5\n"
        f"LOG-7,4,{at[3]},12.0\n"
        "LOG-7,5,not a time,4\n"
        f"LOG-7,6,{at[5]},4.0\n"
    )


def test_a_chilled_lot_ships_with_a_logger_file_and_shows_its_analysis(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    _staff, product, token = _desk(client, session, storage_class="chilled")
    lot = _new_lot(client, token, product.id)  # type: ignore[arg-type]
    empty = client.post(f"/coop/batches/{lot}/shipments/new", data={"csrf_token": token})
    assert empty.status_code == 422 and "请填写温度记录仪编号" in empty.text
    made = client.post(
        f"/coop/batches/{lot}/shipments/new", data={"csrf_token": token, "device_id": "LOG-7"}
    )
    assert "冷链运输已创建" in made.text
    shipment = session.query(ColdShipment).filter_by(batch_id=lot).one()
    uploaded = client.post(
        f"/coop/shipments/{shipment.id}",
        data={"csrf_token": token},
        files={"logger_file": ("log.csv", _logger_csv().encode(), "text/csv")},
    )
    assert uploaded.status_code == 200
    assert "第 3 行" in uploaded.text and "第 6 行" in uploaded.text  # the bad rows, by line
    assert "已保存 4 条新读数" in uploaded.text
    assert "温度超标" in uploaded.text and "<svg" in uploaded.text and "MKT" in uploaded.text
    assert session.query(TemperatureReading).filter_by(device_id="LOG-7").count() == 4
    again = client.post(
        f"/coop/shipments/{shipment.id}",
        data={"csrf_token": token},
        files={"logger_file": ("log.json", b"{not json", "application/json")},
    )
    assert again.status_code == 422 and "JSON 格式错误" in again.text
    assert len(client.get(f"/coop/shipments/{shipment.id}").content) <= 30 * 1024
    trace = client.get(f"/coop/batches/{lot}")
    assert f'href="/coop/shipments/{shipment.id}"' in trace.text


def test_an_ambient_lot_needs_no_cold_shipment(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _staff, product, token = _desk(client, session, storage_class="ambient")
    lot = _new_lot(client, token, product.id)  # type: ignore[arg-type]
    refused = client.post(
        f"/coop/batches/{lot}/shipments/new", data={"csrf_token": token, "device_id": "LOG-1"}
    )
    assert refused.status_code == 422 and "常温储存" in refused.text
    assert session.query(ColdShipment).count() == 0


def _lot_urls(lot: int, cert: int, shipment: int) -> tuple[list[str], list[str]]:
    b = f"/coop/batches/{lot}"
    gets = [
        b,
        f"{b}/harvest",
        f"{b}/inputs/new",
        f"{b}/inspections/new",
        f"{b}/certifications/new",
        f"{b}/compliance/new",
        f"{b}/compliance/{cert}.pdf",
        f"{b}/serials",
        f"{b}/labels",
        f"{b}/labels.pdf?kind=lot&count=4",
        f"{b}/qr.png",
        f"{b}/shipments/new",
        f"/coop/shipments/{shipment}",
    ]
    posts = [
        f"{b}/harvest",
        f"{b}/inputs/new",
        f"{b}/inspections/new",
        f"{b}/certifications/new",
        f"{b}/compliance/new",
        f"{b}/serials",
        f"{b}/shipments/new",
        f"/coop/shipments/{shipment}",
    ]
    return gets, posts


def test_another_cooperatives_lots_certificates_and_shipments_are_not_found(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    _staff, product, token = _desk(client, session, storage_class="chilled")
    mine = _new_lot(client, token, product.id)  # type: ignore[arg-type]
    # The rival's lot, certificate and shipment, made through the domain.
    from farmgate.coldchain import shipments
    from farmgate.trace import lots, service
    from farmgate.trace.schemas import BatchIn

    township = session.query(Township).one()
    rival_coop = f.create_cooperative(session, township, name="别家合作社")
    rival = f.create_account(session, role=Role.COOPERATIVE, cooperative=rival_coop)
    theirs_product = f.create_product(
        session, rival, f.first_village(session, township), name="别家鱼", storage_class="chilled"
    )
    theirs = service.create_batch(
        session,
        rival,
        BatchIn(product_id=theirs_product.id, lot_code="RIVAL1", quantity=5, unit="条"),  # type: ignore[arg-type]
    )
    theirs.harvest_date = TODAY
    from farmgate.trace.certificates import ComplianceCertificate

    cert = lots.issue_compliance(
        session,
        rival,
        theirs,
        ComplianceCertificate(
            "别家鱼", "5", "条", "高坪", TODAY, "别家", "13800000002", "self_test"
        ),
    )
    shipment = shipments.start_for_lot(session, rival, theirs, "RIVAL-LOG")
    session.commit()
    gets, posts = _lot_urls(theirs.id, cert.id, shipment.id)  # type: ignore[arg-type]
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, data={"csrf_token": token, "count": "5"}).status_code == 404, url
    # Their certificate under my lot: not found either.
    assert client.get(f"/coop/batches/{mine}/compliance/{cert.id}.pdf").status_code == 404
    assert client.get(f"/coop/batches?product={theirs_product.id}").status_code == 404
    assert client.get(f"/coop/batches/new?product={theirs_product.id}").status_code == 404
    session.refresh(theirs)
    assert theirs.serial_count == 0 and "RIVAL1" not in client.get("/coop/batches").text


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COURIER, Role.CONSUMER])
def test_other_roles_are_refused(client, session: Session, role: Role) -> None:  # type: ignore[no-untyped-def]
    _staff, product, token = _desk(client, session)
    lot = _new_lot(client, token, product.id)  # type: ignore[arg-type]
    client.cookies.clear()
    f.login_browser(client, session, f.create_account(session, role=role))
    token = _csrf(client.get("/login").text)
    for url in ("/coop/batches", f"/coop/batches/{lot}", f"/coop/batches/{lot}/labels"):
        assert client.get(url).status_code == 403, url
    answer = client.post(f"/coop/batches/{lot}/serials", data={"csrf_token": token, "count": "5"})
    assert answer.status_code == 403
    session.expire_all()
    assert session.get(Batch, lot).serial_count == 0  # type: ignore[union-attr]


def test_a_lot_page_offers_only_its_own_certificate_to_print(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    staff, product, token = _desk(client, session)
    from farmgate.trace import lots
    from farmgate.trace.certificates import ComplianceCertificate

    first, second = (_new_lot(client, token, product.id) for _ in range(2))  # type: ignore[arg-type]
    batch = session.get(Batch, first)
    batch.harvest_date = TODAY  # type: ignore[union-attr]
    made = lots.issue_compliance(
        session,
        staff,
        batch,  # type: ignore[arg-type]
        ComplianceCertificate(
            "鲜红辣椒", "5", "公斤", "谭家场", TODAY, "社", "13800000001", "self_test"
        ),
    )
    session.commit()
    assert f"/compliance/{made.id}.pdf" in client.get(f"/coop/batches/{first}").text
    assert "/compliance/" + str(made.id) not in client.get(f"/coop/batches/{second}").text
