"""Wiring the domains together, once, in the open: ``install()``.

Importing a module never changes behaviour. Everything that used to happen because something
happened to be imported is done here: the session listeners that keep the read models (search
index, report facts) following the data, the registry of jobs, the parcel desk orders use,
and the readiness checks. The app factory, the CLI and the workers call it; calling it again
changes nothing.
"""

from __future__ import annotations

import importlib


def install() -> None:
    """Register listeners, jobs and the cross-domain interfaces (idempotent)."""
    # The job modules: importing each registers its @job and @periodic bodies.
    from farmgate.coldchain import tasks as _coldchain_jobs
    from farmgate.config import settings
    from farmgate.jobs import builtin as _builtin_jobs
    from farmgate.ledger import tasks as _ledger_jobs
    from farmgate.logistics import service as logistics
    from farmgate.logistics import tasks as _logistics_jobs
    from farmgate.media import photos as media_files
    from farmgate.media import tasks as _media_jobs
    from farmgate.notify import tasks as _notify_jobs
    from farmgate.ops import health
    from farmgate.orders import parcels
    from farmgate.orders import tasks as _order_jobs
    from farmgate.payments import sharing_jobs as _sharing_jobs
    from farmgate.payments import tasks as _payment_jobs
    from farmgate.presale import tasks as _presale_jobs
    from farmgate.reports import tasks as _report_jobs
    from farmgate.reports import tracking as report_tracking
    from farmgate.search import health as search_health
    from farmgate.search import tasks as _search_jobs
    from farmgate.search import tracking as search_tracking
    from farmgate.sms import tasks as _sms_jobs
    from farmgate.stations import tasks as _station_jobs
    from farmgate.trace import tasks as _trace_jobs
    from farmgate.translog import tasks as _translog_jobs

    del _builtin_jobs, _logistics_jobs, _order_jobs, _payment_jobs, _report_jobs
    del _search_jobs, _coldchain_jobs, _trace_jobs, _ledger_jobs, _translog_jobs, _sms_jobs
    del _station_jobs, _notify_jobs, _presale_jobs, _sharing_jobs, _media_jobs
    for module in settings.job_modules:  # plugins and tests name theirs in the settings
        importlib.import_module(module)

    # Read models follow the data through one mechanism: a listener on every session.
    search_tracking.register()
    report_tracking.register()
    media_files.register()  # files written or dropped follow their transaction

    parcels.provide(logistics)  # orders ask for parcels through this interface
    health.add_check("search", search_health.ready)
