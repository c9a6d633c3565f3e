"""ASGI entry point: ``uvicorn farmgate.asgi:app``."""

from farmgate.app import create_app

app = create_app()
