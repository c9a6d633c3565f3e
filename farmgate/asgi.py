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
