"""ASGI entry point: ``uvicorn farmgate.asgi:app`` (each worker process imports this)."""

import gc

from farmgate.app import create_app
from farmgate.config import settings
from farmgate.ops import logs

logs.configure(json_lines=settings.log_json)
app = create_app()
# The ~500,000 objects built by now (modules, models, routes, schemas) live as long as the
# process: moved out of the collector's generations, a full collection no longer walks them
# all (one cost 70-90 ms of CPU in bench/checkout.py's server). Nothing else changes.
gc.freeze()
# A young-generation collection ran every 700 net allocations: about one per request, 113 ms
# of CPU over bench/checkout.py's 300 orders. Every 10,000 it ran 6 times, 15 ms in all; the
# young objects it waits for are a few MB at most.
gc.set_threshold(10_000, *gc.get_threshold()[1:])
