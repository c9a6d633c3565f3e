"""A WeChat Pay SIMULATOR for tests and the demo: never a real payment.

A real HTTP server on 127.0.0.1 speaking WeChat Pay API v2 (XML, HMAC-SHA256 or MD5
signatures): unified order, query, close, refund, and signed payment notifications to the
merchant's notify_url, with fault injection. Every answer carries ``X-Simulator: wechatpay``.
"""

from farmgate.payments.simulator.server import SimulatorServer, start_simulator

__all__ = ["SimulatorServer", "start_simulator"]
