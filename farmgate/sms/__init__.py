"""Text messages to mobile numbers: the ``SmsSender`` interface, Tencent Cloud SMS behind it,
verification codes (``codes``) and the job that sends them through the outbox (``tasks``).

The bundled simulator (``farmgate.sms.simulator``) speaks Tencent Cloud's API on 127.0.0.1
for the demo and the tests; nothing in the domain imports it.
"""
