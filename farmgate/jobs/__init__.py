"""Background work that is never lost: a transactional outbox and its executors.

The rule every job follows
--------------------------
A job may run more than once (a worker killed mid-job, a row dispatched twice, Redis losing
its queue), so every job is **idempotent and keyed by a business id**:

1. Domain code calls the job's handle, ``reindex.enqueue(session, {"product_id": 12},
   key="product:12")`` (its payload a ``TypedDict``), inside the transaction that makes the
   change; the row stores the job's name. Roll back and nothing is queued; commit and the row
   exists even if Redis is down or the process dies next. ``farmgate.bootstrap.install()``
   imports every job module.
2. The body ``def reindex(session, args)`` does its database work in ``session``; the runner
   marks the outbox row done in that SAME transaction, so the effect and "done" commit
   together. A body that calls an outside service first looks the business id up there
   ("does a waybill for order 42 exist?") before creating anything.
3. Transient trouble (timeouts, 5xx, a lost connection) raises ``TransientJobError`` (or lets
   an ``httpx.TransportError`` through): the job is retried with exponential backoff up to its
   ``max_tries``. ``PermanentJobError`` (bad data that no retry will fix) dead-letters at once.
   Either way the last error is kept and ``farmgate jobs retry`` re-drives it.
4. Every outbound HTTP call has a timeout below the job's own ``timeout``.
5. The ``quick`` queue is for short, latency-sensitive work: its jobs' timeouts stay at or
   under ``QUICK_TIMEOUT_MAX`` seconds, because arq hands a killed worker's job to another
   only after the queue's longest timeout (plus 10 s). Longer work goes on ``slow``.

Executors: arq workers on Redis (``farmgate worker``) when ``FARMGATE_REDIS_URL`` is set, or
the embedded runner inside the web process otherwise. Both go through ``runner``: an arq
worker claims and runs one row (``runner.execute``); the embedded runner claims a round's due
rows in one statement (``runner.claim_due``) and runs each (``runner.run_claimed``). Either
way the claim is committed before the body runs, and the body and "done" commit together.
"""
