"""ASGI entry point: ``uvicorn farmgate.asgi:app`` (each worker process imports this)."""

from farmgate.app import create_app
from farmgate.config import settings
from farmgate.ops import logs

logs.configure(json_lines=settings.log_json)
app = create_app()
