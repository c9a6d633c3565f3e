"""A request's unit of work, done inside the thread-pool call that uses the database.

FastAPI runs a sync dependency with ``yield``, every sync sub-dependency and the endpoint in
separate thread-pool hops. Opening the session in one hop and committing it in another made a
request hold a connection (and, after a checkout's stock UPDATE, a row lock) while it waited
for a free thread; the threads were all taken by requests queued behind that lock or waiting
for a connection, so the whole process stalled until the pool or SQLite timed out.

Here every sync callable of a route that takes the session (the endpoint, and dependencies
such as the signed-in account) runs as one *phase*: inside its own thread-pool call it begins
the transaction, runs, commits or rolls back, and (for the endpoint) closes the session. So:

- a connection is held only inside a running thread-pool call, never while waiting for one;
- a lock (a stock row, SQLite's write lock) is released by the call that took it, which needs
  nothing else to finish: no thread, no connection, no event-loop turn;
- the pool has at least as many connections as the thread pool has threads (farmgate/db.py,
  :func:`set_thread_limit`), so a running call never waits for a connection either.

Every wait is thus on work that is already running, and none is on a request behind it.

A dependency whose value needs the database but is only ever used by a phase (the signed-in
caller of an API endpoint) need not cost a thread-pool call of its own: it is async and hands
back a :class:`Deferred`, which the request's next phase reads first, in its own thread-pool
call, before it runs anything else (see :func:`defer`).

Dependencies only read (they resolve the caller): on PostgreSQL their statements run without
a transaction around them (see :func:`farmgate.db.without_transaction`), and a flush in them
raises. On SQLite, writing endpoints also pass one in-process gate, so writers queue in order
instead of spinning in SQLite's busy handler; a writer that cannot get in within
``BUSY_TIMEOUT_SECONDS`` gets a clean 503 with Retry-After.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, request_response
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from farmgate.config import settings
from farmgate.db import BUSY_TIMEOUT_SECONDS, begin_mode, session_factory, without_transaction
from farmgate.errors import FarmgateError

_with_body_limit: Callable[..., Any] | None
try:  # what APIRoute() wraps its handler in, since FastAPI 0.164 (0.162 had no such wrapper)
    from fastapi._body_limit import wrap_app_with_body_limit as _with_body_limit
except ImportError:  # pragma: no cover
    _with_body_limit = None


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_UNIT = "farmgate_unit"
_WRAPPED = "__farmgate_phase__"
_DEFERS = "__farmgate_defers__"  # on a dependency whose value may be a Deferred
_OWN_UNIT = "__farmgate_own_unit__"  # on an endpoint made with opens_own_unit/opens_own_read
# Set on the endpoints marked with opens_own_read or reads_only.
READS_ONLY = "__farmgate_reads_only__"
_in_phase: ContextVar[bool] = ContextVar("farmgate_in_phase", default=False)


class Busy(FarmgateError):
    """Too many writers at once: the client should try again shortly."""

    status = 503
    code = "busy"
    retry_after = 1


class _FifoGate:
    """One holder at a time, handed to waiters in arrival order (``threading.Lock`` lets late
    arrivals overtake, which left a few checkouts waiting seconds in a storm)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._busy = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._busy:
                self._busy = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                return False
        return True  # handed over just as the wait timed out

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # stays busy: the next one holds it now
            else:
                self._busy = False


# One writer at a time per process on SQLite (it allows one anyway), queued in order instead
# of spinning in SQLite's busy handler, whose growing sleeps let late arrivals overtake.
_sqlite_writer = _FifoGate()


class Unit:
    """The state of one request's unit of work (kept in ``session.info``)."""

    def __init__(self, session: Session, read_only: bool, statements_alone: bool = False) -> None:
        self.session = session
        self.read_only = read_only
        # Each statement on its own, without BEGIN/COMMIT (PostgreSQL): see opens_own_read.
        self.statements_alone = statements_alone
        self.alone_now = False  # the running phase's statements run so (and may not write)
        self.deferred: list[Deferred] = []  # read, in this order, before a phase's call

    def run(self, call: Callable[..., Any], kwargs: dict[str, Any], final: bool) -> Any:
        """Run one phase in this thread: begin, run, commit (or roll back), close if final."""
        session = self.session
        writes = final and not self.read_only
        try:
            with _writer_gate(session, writes):
                # This thread runs in a copy of the request's context: the mode is this
                # phase's alone. Nothing is opened until the first statement.
                begin_mode.set("IMMEDIATE" if writes else "DEFERRED")
                _in_phase.set(True)
                try:
                    # A dependency's phase only reads (it resolves the caller): its one or two
                    # statements need no transaction around them either; nor do those of an
                    # endpoint marked reads_only, asked with GET or HEAD; nor the deferred
                    # reads (the caller) before any phase's call.
                    if (
                        self.statements_alone
                        or not final
                        or (self.read_only and getattr(call, READS_ONLY, False))
                    ):
                        result = self._alone(lambda: self._call(call, kwargs))
                    else:
                        if self.deferred:
                            self._alone(self._settle)
                        result = self._call(call, kwargs)
                    if session.in_transaction():
                        session.commit()
                except FarmgateError as exc:
                    # Failed sign-ins are counted for throttling: their writes must stay.
                    if exc.commit_anyway:
                        session.commit()
                    else:
                        session.rollback()
                    raise
                except BaseException:
                    session.rollback()
                    raise
        finally:
            if final:
                session.close()
        return result

    def _alone(self, run: Callable[[], Any]) -> Any:
        self.alone_now = True
        try:
            with without_transaction(self.session):  # put back before commit, close
                return run()
        finally:
            self.alone_now = False

    def _settle(self) -> None:
        # Every deferred value of the request, in the order the dependencies made them (the
        # caller, then each check on it): a refusal (401, 403) comes before anything the
        # call would read or tell.
        for value in self.deferred:
            value.settle(self.session)

    def _call(self, call: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        if self.deferred:
            self._settle()
            kwargs = {
                name: value.settle(self.session) if type(value) is Deferred else value
                for name, value in kwargs.items()
            }
        return call(**kwargs)


class Deferred:
    """A dependency's value read by the request's next phase instead of in a thread-pool call
    of its own: see :func:`defer`. Read once; a check made with :func:`then` runs after it."""

    __slots__ = ("_compute", "_settled", "_value", "unit")

    def __init__(self, unit: Unit, compute: Callable[[Session], Any]) -> None:
        self.unit = unit
        self._compute = compute
        self._settled = False
        self._value: Any = None
        unit.deferred.append(self)

    def settle(self, session: Session) -> Any:
        if not self._settled:
            self._value = self._compute(session)  # an error leaves it unsettled: it is raised
            self._settled = True
        return self._value


def defer(session: Session, read: Callable[[Session], Any]) -> Any:
    """``read(session)``, done by the request's next phase in its thread-pool call before
    anything else, instead of now (for an async dependency marked :func:`defers_reads`). It
    only reads: on PostgreSQL without a transaction around it, as a dependency's phase. Its
    consumers must be phases or pass it on with :func:`then`; :func:`bind_units` checks so
    at startup. A request validation error (422) then comes before what ``read`` raises."""
    return Deferred(session.info[_UNIT], read)


def then(value: Any, check: Callable[[Any], Any]) -> Any:
    """``check(value)``, now if ``value`` is known, else right after the deferred read (for
    an async dependency marked :func:`passes_deferred`, such as a role check)."""
    if type(value) is Deferred:
        source = value
        return Deferred(source.unit, lambda session: check(source.settle(session)))
    return check(value)


@event.listens_for(Session, "before_flush")
def _refuse_writes(session: Session, *_: Any) -> None:
    unit = session.info.get(_UNIT)
    if unit is not None and unit.alone_now:
        raise RuntimeError("a read-only phase (a dependency, or opens_own_read) tried to write")


@contextmanager
def _writer_gate(session: Session, writes: bool) -> Iterator[None]:
    if not writes or session.get_bind().dialect.name != "sqlite":
        yield
        return
    if not _sqlite_writer.acquire(timeout=BUSY_TIMEOUT_SECONDS):
        raise Busy("当前访问人数较多，请稍后重试")
    try:
        yield
    finally:
        _sqlite_writer.release()


def _new_session(request: Request, statements_alone: bool = False) -> Session:
    """A request's session, with no connection yet, and its unit of work."""
    session = session_factory()()
    session.info[_UNIT] = Unit(session, request.method in SAFE_METHODS, statements_alone)
    return session


async def request_session(request: Request) -> Session:
    """The session dependency: a session with no connection yet; its phases do the work.

    Async on purpose: opening a session touches no database, so it costs no thread-pool hop.
    And not a generator: nothing is left to do when the request ends. Each phase ends its own
    transaction, which gives its connection back, and the endpoint's phase closes the session
    (:meth:`Unit.run`); a phase runs to its end even when its request is cancelled (a
    thread-pool call is not interrupted). A request that never reaches its endpoint (a 422, a
    refused caller) thus leaves a session that holds no connection, and so nothing to close.
    FastAPI would otherwise enter and leave an exit stack around every request for it.
    """
    return _new_session(request)


def _unit_of(kwargs: dict[str, Any]) -> Unit | None:
    for value in kwargs.values():
        if type(value) is Deferred:
            return value.unit
        if isinstance(value, Session) and _UNIT in value.info:
            return value.info[_UNIT]  # type: ignore[no-any-return]
    return None


def _phase(call: Callable[..., Any], final: bool, takes_session: bool = True) -> Callable[..., Any]:
    @functools.wraps(call)
    def run(*args: Any, **kwargs: Any) -> Any:
        if args or _in_phase.get():
            return call(*args, **kwargs)  # called as a plain function, inside some phase
        unit = _unit_of(kwargs)
        if unit is None:
            if takes_session:
                raise TypeError("a unit-of-work phase was called without the request's session")
            return call(**kwargs)  # takes only a deferred value, known already (no caller)
        return unit.run(call, kwargs, final)

    setattr(run, _WRAPPED, True)
    return run


def _endpoint_phase(call: Callable[..., Any], takes_session: bool) -> Callable[..., Any]:
    """The endpoint's phase, as a coroutine that runs it in one thread-pool call. FastAPI
    runs a sync endpoint in a thread-pool call and then validates its answer against the
    response model in another; for a coroutine it validates in the event loop. The work is
    the same (the GIL lets one thread run Python at a time either way), less one hop."""
    phase = _phase(call, True, takes_session)

    @functools.wraps(call)
    async def run(**kwargs: Any) -> Any:
        return await run_in_threadpool(phase, **kwargs)

    setattr(run, _WRAPPED, True)
    return run


def reads_in_unit(call: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a dependency that takes the session: it reads in a transaction of its own."""
    return _phase(call, final=False)


def hands_reads_to_unit(call: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an async dependency that takes the session but touches the database only through
    a :func:`reads_in_unit` function it runs in the thread pool itself (when it needs to:
    a dependency that often needs no database then costs no thread-pool call)."""
    if not _is_async(call):
        raise TypeError(f"{call.__qualname__} is not async: mark it with reads_in_unit")
    setattr(call, _WRAPPED, True)
    return call


def defers_reads(call: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an async dependency that takes the session and may give a :func:`defer` value."""
    hands_reads_to_unit(call)
    setattr(call, _DEFERS, True)
    return call


def passes_deferred(call: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an async dependency that takes a deferred value and passes it on with
    :func:`then` (a role check)."""
    if not _is_async(call):
        raise TypeError(f"{call.__qualname__} is not async")
    setattr(call, _DEFERS, True)
    return call


def opens_own_unit(call: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a sync endpoint (taking ``request`` and ``session``) whose session is made inside
    its own thread-pool call instead of by the session dependency: the same unit of work in
    one phase (begin, run, commit or roll back, close), without what FastAPI spends solving a
    dependency with ``yield`` on every request (an exit stack, an async context manager and
    its exit: about a tenth of the trace page's CPU). For the hottest public pages only;
    everything else takes ``SessionDep``."""
    return _own_unit(call, statements_alone=False)


def opens_own_read(call: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`opens_own_unit` for an endpoint that only reads, answering GET and HEAD only: on
    PostgreSQL its statements run without a transaction around them (see
    :func:`farmgate.db.without_transaction`). A flush in it raises; tests/test_own_unit.py checks
    that the endpoints marked so send no write, to anonymous and signed-in visitors."""
    run = _own_unit(call, statements_alone=True)
    setattr(run, READS_ONLY, True)
    return run


def reads_only(call: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an endpoint taking ``SessionDep`` that only reads and answers GET and HEAD only: on
    PostgreSQL its statements run without a transaction around them, as for
    :func:`opens_own_read` (for one polled often, like an order awaiting payment). A flush in
    it raises; tests/test_own_unit.py checks that it sends no write."""
    setattr(call, READS_ONLY, True)
    return call


def _own_unit(call: Callable[..., Any], statements_alone: bool) -> Callable[..., Any]:
    if _is_async(call):
        raise TypeError(f"{call.__qualname__} takes the database session: use def")
    signature = inspect.signature(call, eval_str=True)
    if not {"request", "session"} <= set(signature.parameters):
        raise TypeError(f"{call.__qualname__} must take request and session")

    @functools.wraps(call)
    def run(**kwargs: Any) -> Any:
        request: Request = kwargs["request"]
        alone = statements_alone and request.method in SAFE_METHODS
        session = _new_session(request, alone)
        unit: Unit = session.info[_UNIT]
        return unit.run(call, {**kwargs, "session": session}, final=True)

    # FastAPI reads the parameters from here: the session is not one of them.
    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != "session"]
    )
    setattr(run, _WRAPPED, True)
    setattr(run, _OWN_UNIT, True)
    return run


def _takes_session(dependant: Dependant) -> bool:
    return any(sub.call is request_session for sub in dependant.dependencies)


def _takes_deferred(dependant: Dependant) -> bool:
    return any(getattr(sub.call, _DEFERS, False) for sub in dependant.dependencies)


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            yield from _api_routes(included.routes)


def bind_units(app: FastAPI) -> None:
    """Make every endpoint that takes the session run as the final phase of its unit.

    Call after all routers are included. Dependencies that take the session must be marked
    with :func:`reads_in_unit`; one that is not would hold a connection between thread-pool
    hops, so it is refused here, at startup.
    """

    def check(dependant: Dependant) -> None:
        for sub in dependant.dependencies:
            check(sub)
            if (
                _takes_deferred(sub)
                and not getattr(sub.call, _DEFERS, False)
                and not (
                    sub.call is not None
                    and getattr(sub.call, _WRAPPED, False)
                    and not _is_async(sub.call)
                )
            ):
                raise TypeError(
                    f"{getattr(sub.call, '__qualname__', sub.call)} takes a value its phase "
                    "reads (the signed-in caller): mark it with reads_in_unit, or, if it only "
                    "checks the value, with passes_deferred"
                )
            if sub.call is not None and _takes_session(sub):
                if not getattr(sub.call, _WRAPPED, False):
                    raise TypeError(
                        f"{sub.call.__qualname__} takes the database session: mark it with "
                        "farmgate.web.unit.reads_in_unit"
                    )
            elif inspect.isfunction(sub.call) and not _is_async(sub.call):
                # FastAPI runs a plain def dependency in a thread-pool call of its own, on
                # every request: one that only looks at what other dependencies resolved
                # (a role check) must be async.
                raise TypeError(
                    f"{sub.call.__qualname__} is a plain def dependency without the session: "
                    "make it async (it costs a thread-pool call per request)"
                )

    for route in _api_routes(app.router.routes):
        check(route.dependant)
        endpoint = route.endpoint
        takes_session = _takes_session(route.dependant)
        _check_caller_reaches(route)
        if not (takes_session or _takes_deferred(route.dependant)) or getattr(
            endpoint, _WRAPPED, False
        ):
            continue
        if _is_async(endpoint):
            raise TypeError(
                f"{endpoint.__qualname__} takes the database session or the signed-in caller: "
                "use def"
            )
        route.endpoint = route.dependant.call = _endpoint_phase(endpoint, takes_session)
        # The handler was built for a sync endpoint: build it again for this one.
        handler = request_response(route.get_route_handler())
        route.app = _with_body_limit(handler, route.max_body_size) if _with_body_limit else handler


def _check_caller_reaches(route: APIRoute) -> None:
    """A deferred value (the caller, a role check on it) is read by the endpoint's phase, which
    finds its unit through the session or a deferred value among its arguments. Refuse what
    would leave a check unread: an endpoint that opens its own unit (another session), or one
    that has a role check only in ``dependencies=[...]`` and takes neither."""
    deferring = [sub for sub in route.dependant.dependencies if getattr(sub.call, _DEFERS, False)]
    if not deferring:
        return
    name = getattr(route.endpoint, "__qualname__", route.path)
    if getattr(route.endpoint, _OWN_UNIT, False):
        raise TypeError(
            f"{name} opens its own unit: it cannot take the signed-in caller as a dependency "
            "(read it inside, as storefront.common.signed_in does)"
        )
    if not _takes_session(route.dependant) and not any(sub.name for sub in deferring):
        raise TypeError(
            f"{name} checks the caller only in dependencies=[...]: take the session or the "
            "caller as a parameter, so that its phase reads and checks it"
        )


def _is_async(call: Callable[..., Any]) -> bool:
    target = inspect.unwrap(call)
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def set_thread_limit() -> None:
    """Fix the thread pool's size (the pool of connections is sized from the same setting)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
