"""Buyer accounts for the benchmarks, made as a real client makes them: an SMS code (read
from the SMS simulator the server under test sends through), then registration."""

from __future__ import annotations

import httpx

from farmgate.sms.simulator import SmsSimulatorServer

# Settings for the server under test: many buyers register from one address.
SMS_LIMITS = {"FARMGATE_SMS_DAILY_PER_ADDRESS": "100000"}


def register_buyer(base: str, sms: SmsSimulatorServer, phone: str, password: str) -> None:
    httpx.post(f"{base}/api/v1/auth/codes", json={"phone": phone}, timeout=30).raise_for_status()
    code = sms.wait_for_code(phone, timeout=60)
    httpx.post(
        f"{base}/api/v1/auth/register",
        json={"phone": phone, "code": code, "password": password},
        timeout=30,
    ).raise_for_status()
