"""A Kuaidi100 SIMULATOR for tests and the demo: never a real parcel, never a real account.

A real HTTP server on 127.0.0.1 (uvicorn in a background thread) speaking Kuaidi100's protocol
as ``farmgate.logistics.kuaidi100`` does: ``/poll/query.do`` (real-time query), ``/poll``
(subscription), ``/label/order`` (e-waybills: order, query, cancel), with credentials it makes
up, parcels kept in memory, signed pushes to the subscribed callback on demand
(``/_simulator/advance/{waybill}``), and fault injection. Every answer carries
``X-Simulator: kuaidi100``; every page shows the banner 模拟快递.
"""

from farmgate.logistics.simulator.server import CourierSimulatorServer, start_courier_simulator
from farmgate.logistics.simulator.state import FAULTS, CourierSimState, Delivery, SimParcel

__all__ = [
    "FAULTS",
    "CourierSimState",
    "CourierSimulatorServer",
    "Delivery",
    "SimParcel",
    "start_courier_simulator",
]
