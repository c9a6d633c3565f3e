"""What a request brings besides its parameters: the raw body, form values, the client's address.

Endpoints that use the database are plain ``def`` (run in the thread pool): blocking database
calls on the event loop would stall every other request, and on SQLite could deadlock with a
request whose commit the loop must schedule. They read bodies through these async pieces.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request


async def _raw_body(request: Request) -> bytes:
    return await request.body()


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items()}


RawBody = Annotated[bytes, Depends(_raw_body)]
FormValues = Annotated[dict[str, str], Depends(_form_values)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"
