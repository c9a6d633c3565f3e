"""SMS: TC3 signing, the Tencent adapter against the simulator (faults -> retries and dead
letters), and verification codes (wrong, expired, reused, another number's, too many tries,
too soon, daily limits). Data tests on SQLite and PostgreSQL."""

from __future__ import annotations

import socket

import httpx
import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.errors import Throttled, ValidationFailed
from farmgate.models import DeadJob, OutboxJob, SmsCode
from farmgate.sms import codes
from farmgate.sms.codes import Purpose
from farmgate.sms.sender import SmsError, SmsUnavailable
from farmgate.sms.simulator import SmsSimulatorServer
from farmgate.sms.tencent import TencentSms, tc3_sign
from tests.support import factories as f
from tests.support.sms import age_codes, run_sms_jobs


def test_tc3_signature_matches_tencent_clouds_documented_example() -> None:
    # "Signature v3" in Tencent Cloud's API documentation: DescribeInstances on CVM.
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    signed = tc3_sign(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload=payload,
        timestamp=1551113065,
    )
    assert signed.credential_scope == "2019-02-25/cvm/tc3_request"
    assert signed.signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert signed.authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def _adapter(sim: SmsSimulatorServer, **overrides: str) -> TencentSms:
    s = sim.state
    config = {
        "secret_id": s.secret_id,
        "secret_key": s.secret_key,
        "sdk_app_id": s.sdk_app_id,
        "sign_name": s.sign_name,
        "base_url": sim.url,
        **overrides,
    }
    return TencentSms(**config, timeout=3)  # type: ignore[arg-type]


def test_the_adapter_sends_and_the_simulator_shows_the_message(sms: SmsSimulatorServer) -> None:
    sent = _adapter(sms).send("13800001111", "2000001", ["123456", "5"])
    assert sent.serial_no.startswith("sim:")
    [message] = sms.messages("13800001111")
    assert message["phone"] == "+8613800001111" and message["params"] == ["123456", "5"]
    assert "123456" in message["text"] and "乡村好物" in message["text"]
    inbox = httpx.get(sms.url + "/", timeout=5)
    assert "模拟短信" in inbox.text and "123456" in inbox.text
    assert inbox.headers["x-simulator"] == "tencent-sms"


def test_the_simulator_checks_the_signature(sms: SmsSimulatorServer) -> None:
    with pytest.raises(SmsError) as wrong_key:
        _adapter(sms, secret_key="not-the-key").send("13800001111", "2000001", ["1", "5"])
    assert wrong_key.value.code == "AuthFailure.SignatureFailure"
    assert not isinstance(wrong_key.value, SmsUnavailable)  # no retry fixes a wrong key
    with pytest.raises(SmsError) as wrong_id:
        _adapter(sms, secret_id="AKIDnobody").send("13800001111", "2000001", ["1", "5"])
    assert wrong_id.value.code == "AuthFailure.SecretIdNotFound"
    assert sms.messages() == []


@pytest.mark.parametrize(
    ("fault", "transient", "code"),
    [
        ("throttled", True, "RequestLimitExceeded"),
        ("error_500", True, "HttpError"),
        ("timeout", True, "Timeout"),
        ("invalid_number", False, "InvalidParameterValue.IncorrectPhoneNumber"),
        ("daily_limit", False, "LimitExceeded.PhoneNumberDailyLimit"),
    ],
)
def test_faults_are_told_apart(
    sms: SmsSimulatorServer, fault: str, transient: bool, code: str
) -> None:
    sms.inject(fault, timeout_seconds=4)
    with pytest.raises(SmsError) as failed:
        _adapter(sms).send("13800001111", "2000001", ["1", "5"])
    assert failed.value.code == code
    assert isinstance(failed.value, SmsUnavailable) is transient


def test_a_gateway_that_refuses_the_connection_is_unavailable_not_a_timeout(
    sms: SmsSimulatorServer,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SmsUnavailable) as refused:
        _adapter(sms, base_url=f"http://127.0.0.1:{port}").send("13800001111", "2000001", ["1"])
    assert refused.value.code == "ConnectError"


# --- codes and the send job, on both databases ------------------------------------------------


def test_a_code_is_sent_through_the_outbox_and_stored_only_hashed(
    session: Session, sms: SmsSimulatorServer
) -> None:
    phone = f.next_phone()
    row = codes.request_code(session, phone, Purpose.LOGIN, "10.0.0.1")
    job = session.query(OutboxJob).filter_by(job="sms.send_code").one()
    assert run_sms_jobs(session) == ["done"]
    code = sms.latest_code(phone)
    assert code is not None and len(code) == 6 and code.isdigit()
    stored = session.get(SmsCode, row.id)
    assert stored is not None and stored.sent_at is not None
    # Neither the table nor the outbox holds the code itself.
    assert code not in stored.code_hash and code not in stored.seed
    assert code not in str(job.args)
    assert stored.code_hash == codes.code_digest(phone, "login", code)
    assert codes.verify_code(session, phone, Purpose.LOGIN, code).id == row.id


def test_a_failed_send_is_retried_then_sent(session: Session, sms: SmsSimulatorServer) -> None:
    phone = f.next_phone()
    codes.request_code(session, phone, Purpose.LOGIN, "10.0.0.1")
    sms.inject("timeout", timeout_seconds=4)
    assert run_sms_jobs(session) == ["retry"]
    sms.inject("throttled")
    assert run_sms_jobs(session) == ["retry"]
    assert sms.messages(phone) == []
    assert run_sms_jobs(session) == ["done"]
    assert len(sms.messages(phone)) == 1
    job = session.query(OutboxJob).filter_by(job="sms.send_code").one()
    assert job.attempts == 3 and job.status == "done"


def test_an_invalid_number_is_dead_lettered_at_once(
    session: Session, sms: SmsSimulatorServer
) -> None:
    phone = f.next_phone()
    codes.request_code(session, phone, Purpose.LOGIN, "10.0.0.1")
    sms.inject("invalid_number")
    assert run_sms_jobs(session) == ["dead"]
    dead = session.query(DeadJob).filter_by(job="sms.send_code").one()
    assert "IncorrectPhoneNumber" in dead.error
    assert run_sms_jobs(session) == []  # nothing left to retry


def test_no_gateway_configured_dead_letters_visibly(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "sms_secret_id", "")
    codes.request_code(session, f.next_phone(), Purpose.LOGIN, "10.0.0.1")
    assert run_sms_jobs(session) == ["dead"]
    assert "短信服务未配置" in session.query(DeadJob).filter_by(job="sms.send_code").one().error


def _sent_code(session: Session, sms: SmsSimulatorServer, phone: str, purpose: Purpose) -> str:
    codes.request_code(session, phone, purpose, "10.0.0.2")
    assert run_sms_jobs(session) == ["done"]
    code = sms.latest_code(phone)
    assert code is not None
    return code


def _refused(session: Session, phone: str, purpose: Purpose, code: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        codes.verify_code(session, phone, purpose, code)
    session.commit()  # what the request would commit (the wrong answer counted)
    return refused.value


def _other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_wrong_codes_count_and_five_invalidate_the_code(
    session: Session, sms: SmsSimulatorServer
) -> None:
    phone = f.next_phone()
    code = _sent_code(session, sms, phone, Purpose.LOGIN)
    for left in (4, 3, 2, 1):
        assert (
            f"还可以再试{left}次" in _refused(session, phone, Purpose.LOGIN, _other(code)).message
        )
    assert "错误次数过多" in _refused(session, phone, Purpose.LOGIN, _other(code)).message
    # Now even the right code is refused.
    assert _refused(session, phone, Purpose.LOGIN, code).code == "code_invalid"
    assert _refused(session, phone, Purpose.LOGIN, "12ab").fields["code"]


def test_expired_reused_and_foreign_codes_are_refused(
    session: Session, sms: SmsSimulatorServer
) -> None:
    phone, other = f.next_phone(), f.next_phone()
    code = _sent_code(session, sms, phone, Purpose.LOGIN)
    # Another number, or the same number for another purpose: not this code.
    assert _refused(session, other, Purpose.LOGIN, code).code == "code_invalid"
    assert _refused(session, phone, Purpose.RESET, code).code == "code_invalid"
    codes.verify_code(session, phone, Purpose.LOGIN, code)
    session.commit()
    assert _refused(session, phone, Purpose.LOGIN, code).code == "code_invalid"  # used once

    age_codes(session, phone, 120)
    late = _sent_code(session, sms, phone, Purpose.LOGIN)
    age_codes(session, phone, settings.sms_code_minutes * 60 + 1)
    assert _refused(session, phone, Purpose.LOGIN, late).code == "code_expired"


def test_a_new_code_replaces_the_old_one(session: Session, sms: SmsSimulatorServer) -> None:
    phone = f.next_phone()
    first = _sent_code(session, sms, phone, Purpose.LOGIN)
    age_codes(session, phone, 61)
    second = _sent_code(session, sms, phone, Purpose.LOGIN)
    if first != second:
        assert _refused(session, phone, Purpose.LOGIN, first).code == "code_wrong"
    codes.verify_code(session, phone, Purpose.LOGIN, second)


def test_one_request_a_minute_and_daily_limits(
    session: Session, sms: SmsSimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = f.next_phone()
    codes.request_code(session, phone, Purpose.LOGIN, "10.0.0.3")
    with pytest.raises(Throttled) as too_soon:
        codes.request_code(session, phone, Purpose.RESET, "10.0.0.4")  # any purpose, any address
    assert too_soon.value.code == "sms_resend_too_soon" and "秒后" in too_soon.value.message
    age_codes(session, phone, 61)
    codes.request_code(session, phone, Purpose.LOGIN, "10.0.0.3")

    monkeypatch.setattr(settings, "sms_daily_per_phone", 2)
    age_codes(session, phone, 61)
    with pytest.raises(Throttled) as per_phone:
        codes.request_code(session, phone, Purpose.LOGIN, "10.0.0.5")
    assert per_phone.value.code == "sms_daily_limit"

    monkeypatch.setattr(settings, "sms_daily_per_address", 3)
    for _ in range(3):
        codes.request_code(session, f.next_phone(), Purpose.LOGIN, "10.9.9.9")
    with pytest.raises(Throttled) as per_address:
        codes.request_code(session, f.next_phone(), Purpose.LOGIN, "10.9.9.9")
    assert per_address.value.code == "sms_daily_limit"
    codes.request_code(session, f.next_phone(), Purpose.LOGIN, "10.9.9.10")  # another address


def test_a_code_that_expired_before_its_send_is_not_sent(
    session: Session, sms: SmsSimulatorServer
) -> None:
    phone = f.next_phone()
    codes.request_code(session, phone, Purpose.LOGIN, "10.0.0.1")
    age_codes(session, phone, settings.sms_code_minutes * 60 + 1)
    assert run_sms_jobs(session) == ["done"]
    assert sms.messages(phone) == []


def test_old_codes_are_pruned(session: Session, sms: SmsSimulatorServer) -> None:
    from farmgate.sms.tasks import prune_codes

    old, recent = f.next_phone(), f.next_phone()
    codes.request_code(session, old, Purpose.LOGIN, "10.0.0.1")
    codes.request_code(session, recent, Purpose.LOGIN, "10.0.0.1")
    age_codes(session, old, 2 * 86400 + 60)
    assert prune_codes(session) == 1
    session.commit()
    assert {c.phone for c in session.query(SmsCode).all()} == {recent}
