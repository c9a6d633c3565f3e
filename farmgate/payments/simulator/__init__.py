"""A WeChat Pay SIMULATOR for tests and the demo: never a real payment, never a real merchant.

A real HTTP server on 127.0.0.1 (uvicorn in a background thread) speaking
- WeChat Pay API v2 (XML, HMAC-SHA256 or MD5 signatures): /pay/unifiedorder, /pay/orderquery,
  /pay/closeorder, /secapi/pay/refund;
- WeChat Pay API v3 (JSON, WECHATPAY2-SHA256-RSA2048 both ways, AES-256-GCM resources):
  /v3/pay/transactions/{native,jsapi,h5}, /v3/pay/transactions/out-trade-no/{no}[/close],
  /v3/refund/domestic/refunds[/{out_refund_no}], /v3/certificates, and profit-sharing (分账)
  /v3/profitsharing/receivers/add, /v3/profitsharing/orders[/{no}], .../orders/unfreeze,
  /v3/profitsharing/return-orders[/{no}] (simulator/sharing.py);
with keys it generates itself, orders kept in memory, signed payment notifications POSTed to
the merchant's notify_url on demand (``/_simulator/pay/{out_trade_no}``), and fault injection.
Every answer carries ``X-Simulator: wechatpay``; every page shows the banner 模拟支付.
"""

from farmgate.payments.simulator.server import SimulatorServer, start_simulator
from farmgate.payments.simulator.state import FAULTS, Delivery, SimOrder, SimState

__all__ = ["FAULTS", "Delivery", "SimOrder", "SimState", "SimulatorServer", "start_simulator"]
