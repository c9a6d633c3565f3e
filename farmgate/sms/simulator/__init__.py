"""A Tencent Cloud SMS SIMULATOR for tests and the demo: never a real message, never a real
account.

A real HTTP server on 127.0.0.1 (uvicorn in a background thread) speaking Tencent Cloud's API
(``POST /`` with ``X-TC-Action: SendSms``, version 2021-01-11) with credentials it makes up,
checking each request's TC3-HMAC-SHA256 signature as Tencent does. It keeps the messages in
memory and shows them, with their codes, on an HTML page at ``/`` (JSON at
``/_simulator/messages``), and can inject faults (``state.FAULTS``). Every answer carries
``X-Simulator: tencent-sms``; every page shows the banner 模拟短信.
"""

from farmgate.sms.simulator.server import SmsSimulatorServer, start_sms_simulator
from farmgate.sms.simulator.state import FAULTS, SentMessage, SmsSimState

__all__ = ["FAULTS", "SentMessage", "SmsSimState", "SmsSimulatorServer", "start_sms_simulator"]
