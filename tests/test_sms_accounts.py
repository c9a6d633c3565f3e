"""Accounts by SMS through the API and the pages: register and sign in with a code, reset a
password, no answer telling whether a number is registered, guest orders linked once the
number is proved. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from farmgate.accounts import service as accounts
from farmgate.config import settings
from farmgate.models import Account, Order
from farmgate.ops import ratelimit
from tests.support import factories as f
from tests.support.sms import age_codes, api_code, ask_code_on_page, guest_order, run_sms_jobs
from tests.support.web import csrf_token


def test_register_needs_a_verified_code(client, session: Session, sms) -> None:  # type: ignore[no-untyped-def]
    phone = f.next_phone()
    no_code = client.post(
        "/api/v1/auth/register", json={"phone": phone, "password": "long enough 1"}
    )
    assert no_code.status_code == 422
    guessed = client.post(
        "/api/v1/auth/register",
        json={"phone": phone, "code": "000000", "password": "long enough 1"},
    )
    assert guessed.status_code == 422
    assert guessed.json()["error"]["code"] == "code_invalid"
    assert accounts.get_by_phone(session, phone) is None

    code = api_code(client, session, sms, phone)
    made = client.post(
        "/api/v1/auth/register", json={"phone": phone, "code": code, "password": "long enough 1"}
    )
    assert made.status_code == 201 and made.json()["phone"] == phone
    token = client.post("/api/v1/auth/token", json={"phone": phone, "password": "long enough 1"})
    assert token.status_code == 200
    again = client.post(
        "/api/v1/auth/register", json={"phone": phone, "code": code, "password": "long enough 1"}
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "code_invalid"  # used


def test_codes_answer_alike_for_registered_and_unknown_numbers(
    client, session: Session, sms
) -> None:  # type: ignore[no-untyped-def]
    known = f.create_account(session)
    session.commit()
    unknown = f.next_phone()
    for purpose in ("login", "reset"):
        answers = [
            client.post("/api/v1/auth/codes", json={"phone": phone, "purpose": purpose})
            for phone in (known.phone, unknown)
        ]
        assert [a.status_code for a in answers] == [202, 202]
        assert answers[0].json() == answers[1].json()
        age_codes(session, known.phone, 61)
        age_codes(session, unknown, 61)
    # A reset code goes only to a number with an account; the sign-in codes went to both.
    run_sms_jobs(session)
    assert len(sms.messages(known.phone)) == 2 and len(sms.messages(unknown)) == 1
    # Wrong codes: the same answer too.
    wrong = [
        client.post(
            "/api/v1/auth/password/reset",
            json={"phone": p, "code": "000000", "password": "long enough 2"},
        )
        for p in (known.phone, unknown)
    ]
    assert wrong[0].status_code == wrong[1].status_code == 422
    assert wrong[0].json()["error"]["code"] == wrong[1].json()["error"]["code"]


def test_pages_answer_alike_for_registered_and_unknown_numbers(
    client, session: Session, sms
) -> None:  # type: ignore[no-untyped-def]
    known = f.create_account(session)
    session.commit()
    unknown = f.next_phone()
    for path in ("/login/code", "/password/reset/code"):
        sent = [ask_code_on_page(client, phone, path) for phone in (known.phone, unknown)]
        assert [s.status_code for s in sent] == [303, 303]
        locations = [
            s.headers["location"].replace(p, "N")
            for s, p in zip(sent, (known.phone, unknown), strict=True)
        ]
        assert locations[0] == locations[1]
        pages = [client.get(s.headers["location"]).text for s in sent]
        masks = [f"{p[:3]}****{p[-4:]}" for p in (known.phone, unknown)]
        assert re.sub(
            r"\d", "", pages[0].replace(masks[0], "M").replace(known.phone, "N")
        ) == re.sub(r"\d", "", pages[1].replace(masks[1], "M").replace(unknown, "N"))
        age_codes(session, known.phone, 61)
        age_codes(session, unknown, 61)


def test_signing_in_by_code_on_the_pages_makes_an_account_and_links_guest_orders(
    client, session: Session, sms
) -> None:  # type: ignore[no-untyped-def]
    phone = f.next_phone()
    earlier, older = guest_order(session, phone), guest_order(session, phone)
    someone_elses = guest_order(session, f.next_phone())
    sent = ask_code_on_page(client, phone)
    assert sent.status_code == 303
    page = client.get(sent.headers["location"])
    assert "验证码已发送至" in page.text and f"{phone[:3]}****{phone[-4:]}" in page.text
    run_sms_jobs(session)
    code = sms.latest_code(phone)
    token = csrf_token(page.text)

    wrong = client.post(
        "/login/verify",
        data={"phone": phone, "code": f"{(int(code) + 1) % 1_000_000:06d}", "csrf_token": token},
        follow_redirects=False,
    )
    assert wrong.status_code == 422 and "验证码不正确，还可以再试4次" in wrong.text
    assert f'value="{phone}"' in wrong.text  # the number is kept
    assert accounts.get_by_phone(session, phone) is None

    signed_in = client.post(
        "/login/verify",
        data={"phone": phone, "code": code, "csrf_token": token, "next": "/my-orders"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/my-orders"
    account = accounts.get_by_phone(session, phone)
    assert account is not None and account.password_hash == "" and account.phone_verified_at
    session.expire_all()
    assert session.get(Order, earlier.id).account_id == account.id  # type: ignore[union-attr]
    assert session.get(Order, older.id).account_id == account.id  # type: ignore[union-attr]
    assert session.get(Order, someone_elses.id).account_id is None  # type: ignore[union-attr]
    listed = client.get("/my-orders").text
    assert earlier.number in listed and older.number in listed
    # No password yet: password sign-in fails (even with the empty string).
    for attempt in ("", "farmgate-dummy-password"):
        assert (
            client.post(
                "/api/v1/auth/token", json={"phone": phone, "password": attempt or "x"}
            ).status_code
            == 401
        )

    # Set one on the account page; then the password works and later guest orders follow.
    account_page = client.get("/account")
    assert "设置密码（可选）" in account_page.text
    short = client.post(
        "/account/password",
        data={"password": "short", "csrf_token": csrf_token(account_page.text)},
    )
    assert short.status_code == 400 and "至少8位" in short.text
    saved = client.post(
        "/account/password",
        data={"password": "my new password", "csrf_token": csrf_token(account_page.text)},
    )
    assert saved.status_code == 200 and "密码已保存" in saved.text
    later = guest_order(session, phone)
    assert (
        client.post(
            "/api/v1/auth/token", json={"phone": phone, "password": "my new password"}
        ).status_code
        == 200
    )
    session.expire_all()
    assert session.get(Order, later.id).account_id == account.id  # type: ignore[union-attr]


def test_password_sign_in_without_a_proved_number_links_nothing(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    account = f.create_account(session)  # made by staff or the old API: number never proved
    order = guest_order(session, account.phone)
    assert (
        client.post(
            "/api/v1/auth/token", json={"phone": account.phone, "password": f.PASSWORD}
        ).status_code
        == 200
    )
    session.expire_all()
    assert session.get(Order, order.id).account_id is None  # type: ignore[union-attr]


def test_password_reset_by_code_on_the_pages(client, session: Session, sms) -> None:  # type: ignore[no-untyped-def]
    account = f.create_account(session)
    session.commit()
    sent = ask_code_on_page(client, account.phone, "/password/reset/code")
    page = client.get(sent.headers["location"])
    run_sms_jobs(session)
    code = sms.latest_code(account.phone)
    token = csrf_token(page.text)
    weak = client.post(
        "/password/reset/verify",
        data={"phone": account.phone, "code": code, "password": "short", "csrf_token": token},
    )
    assert weak.status_code == 422 and "至少" in weak.text
    done = client.post(
        "/password/reset/verify",
        data={
            "phone": account.phone,
            "code": code,
            "password": "brand new pass",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/account?saved=reset"
    assert (
        client.post(
            "/api/v1/auth/token", json={"phone": account.phone, "password": "brand new pass"}
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/api/v1/auth/token", json={"phone": account.phone, "password": f.PASSWORD}
        ).status_code
        == 401
    )
    # A login code does not reset a password.
    age_codes(session, account.phone, 61)
    login_code = api_code(client, session, sms, account.phone)
    misuse = client.post(
        "/api/v1/auth/password/reset",
        json={"phone": account.phone, "code": login_code, "password": "third password"},
    )
    assert misuse.status_code == 422


def test_asking_again_too_soon_on_the_code_page_keeps_the_page(
    client, session: Session, sms
) -> None:  # type: ignore[no-untyped-def]
    phone = f.next_phone()
    sent = ask_code_on_page(client, phone)
    page = client.get(sent.headers["location"])
    again = client.post(
        "/login/code",
        data={"phone": phone, "resend": "1", "csrf_token": csrf_token(page.text)},
    )
    assert again.status_code == 429 and "秒后再重新获取" in again.text
    assert 'name="code"' in again.text
    bad = client.post("/login/code", data={"phone": "12345", "csrf_token": csrf_token(page.text)})
    assert bad.status_code == 400 and 'value="12345"' in bad.text


def test_sign_in_by_code_through_the_api(client, session: Session, sms) -> None:  # type: ignore[no-untyped-def]
    phone = f.next_phone()
    guest = guest_order(session, phone)
    code = api_code(client, session, sms, phone)
    issued = client.post("/api/v1/auth/token/sms", json={"phone": phone, "code": code})
    assert issued.status_code == 200
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).json()["phone"] == phone
    session.expire_all()
    assert (
        session.get(Order, guest.id).account_id
        == session.query(Account).filter_by(phone=phone).one().id
    )  # type: ignore[union-attr]


def test_asking_from_the_first_page_too_soon_offers_the_code_page(
    client, session: Session, sms
) -> None:  # type: ignore[no-untyped-def]
    phone = f.next_phone()
    assert ask_code_on_page(client, phone).status_code == 303
    again = ask_code_on_page(client, phone)
    assert again.status_code == 429 and "已经收到验证码？去输入" in again.text
    assert f'value="{phone}"' in again.text


@pytest.mark.parametrize(
    ("path", "rule_name"),
    [
        ("/api/v1/auth/codes", "sms_code"),
        ("/login/code", "sms_code"),
        ("/password/reset/code", "sms_code"),
        ("/api/v1/auth/register", "register"),
        ("/login/verify", "register"),
        ("/api/v1/auth/token/sms", "register"),
    ],
)
def test_code_requests_and_answers_are_rate_limited_per_address(  # type: ignore[no-untyped-def]
    client, monkeypatch: pytest.MonkeyPatch, path: str, rule_name: str
) -> None:
    monkeypatch.setattr(settings, "rate_limits", True)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(ratelimit, "limiter", ratelimit.Limiter())
    monkeypatch.setattr(ratelimit, "WINDOW", 3600)
    rule = ratelimit.rule_for("POST", path)
    assert rule is not None and rule.name == rule_name and rule.per_ip <= 20
    body = {"phone": "12", "code": "1"}  # refused by validation: only the counting matters
    answers = [client.post(path, json=body).status_code for _ in range(rule.per_ip)]
    assert 429 not in answers
    refused = client.post(path, json=body)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
