"""Orders per second from cart to paid, through the real HTTP app and the WeChat Pay simulator.

    .venv/bin/python bench/checkout.py [--orders 200] [--buyers 4] [--backends sqlite,postgresql]

For each backend: a fresh database with the demo township, one uvicorn process (embedded job
runner, no Redis) and the simulator in this process. Each buyer (a thread) loops: add to cart
-> checkout -> create the WeChat intent -> the simulator pays and notifies the app -> poll the
order until it shows paid. Prints orders/s and p50/p99 seconds from cart to paid, the
server's CPU per order (user + system, all threads, from the first request until the jobs the
orders queued are done: "jobs s" is how long that took after the last order was paid), and
the bytes of a product page (HTML + CSS + JS; the budget is 60 KB). 127.0.0.1 only. Of the
CPU per order, "loop ms" was the event loop's thread (HTTP, the ASGI stack, hand-overs to
threads; the rest is the thread-pool calls and the jobs) and "sys ms" the kernel's.

``--poll-cpu N`` then asks for one paid order N times from one client, nothing else running,
and prints the server's CPU per ``GET /orders/{id}``: a figure the machine's load moves much
less than the CPU per order (which also counts polls, and so how long buyers waited).

``--parts`` then prints where the server's CPU per order went, part by part: each endpoint's
thread-pool call, each job's bodies and the runner's claims (``bench/_parts_server.py``); what
is left is the event loop's thread ("loop ms") and threads' work outside those parts. It also
prints the ORM's objects per order: loaded by queries, built in Python, written by flushes,
and the SQL statements each part sent per order (with ``FARMGATE_BENCH_SQL=1`` in the
environment, also each statement's first words).

``--instructions N`` instead runs the server under valgrind's callgrind (instrumentation off
until the orders start) and prints the instructions it executed per paid order, over N orders
by one buyer, one after another, the jobs they queued included. Slow (about 50 times), but
the same code gives the same count to about 0.1 %, whatever else the machine is doing: CPU
milliseconds on this machine moved by 10-30 % from one run to the next. The job runner's
idle poll is set to 10 s in this mode, so the count does not depend on how long the slow run
took (a commit that queues a job due now still wakes it at once).

``--arq`` runs the jobs as production does (infra/compose.yaml): through Redis
(``FARMGATE_REDIS_URL``, default ``redis://127.0.0.1:6379/0``, under a queue prefix of this
run's own) and one ``farmgate worker`` process, not in the web process. The CPU columns are
then the web process's; a line after the row gives the worker's CPU per paid order and the
two together.

``--calls N`` instead counts every Python and C call the server makes per paid order, over N
orders by one buyer, the jobs included: by part (as ``--parts``, the event loop's thread as
"loop") and the 30 functions called most (``bench/_parts_server.py`` with
``FARMGATE_BENCH_CALLS``). The counts repeat exactly from run to run; a function called
hundreds of times per order for nothing stands out, where a sampling profile spreads it thin.
``--calls-in loop,pay`` adds the 40 functions called most within each part named
(``FARMGATE_BENCH_CALLS_TOP=N`` in the environment: the N most).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._pg import fresh_pg  # noqa: E402
from bench.buyers import SMS_LIMITS, register_buyer  # noqa: E402
from farmgate.payments.simulator import start_simulator  # noqa: E402
from farmgate.sms.simulator import start_sms_simulator  # noqa: E402

ADDRESS = {
    "recipient": "压测",
    "phone": "13912345678",
    "province": "湖南省",
    "city": "怀化市",
    "county": "辰溪县",
    "township": "谭家场乡",
    "village": "高坪村",
    "address_detail": "1组1号",
    "delivery_method": "courier",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def page_bytes(base: str) -> int:
    html = httpx.get(f"{base}/products/1").text
    total = len(html.encode())
    for asset in ("/static/site.css",):
        total += len(httpx.get(base + asset).content)
    return total


def buyer(
    base: str,
    token: str,
    orders: int,
    sku_id: int,
    latencies: list[float],
    lock: threading.Lock,
    sim,
    polls: list[int],
) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        for _ in range(orders):
            start = time.perf_counter()
            client.post(
                "/api/v1/cart/items", json={"sku_id": sku_id, "quantity": 1}
            ).raise_for_status()
            order = client.post("/api/v1/checkout", json=ADDRESS)
            order.raise_for_status()
            order_id = order.json()["id"]
            intent = client.post(f"/api/v1/orders/{order_id}/pay", json={"channel": "native"})
            intent.raise_for_status()
            sim.pay(intent.json()["out_trade_no"])
            asked = 1
            while client.get(f"/api/v1/orders/{order_id}").json()["status"] != "paid":
                time.sleep(0.02)
                asked += 1
            with lock:
                latencies.append(time.perf_counter() - start)
                polls.append(asked)


def wait_for_jobs(url: str, timeout: float = 120) -> float:
    """Wait until the embedded runner has done every job the orders queued (all but each
    order's ``orders.release_unpaid``, due only if it is still unpaid in 30 minutes): the CPU
    per order then counts the work paying caused, however far the runner lagged behind the
    buyers. Returns the seconds waited (read by this process: not the server's CPU)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    left_sql = text(
        "SELECT count(*) FROM outbox WHERE status NOT IN ('done', 'dead')"
        " AND job <> 'orders.release_unpaid'"
    )
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < timeout:
            with engine.connect() as conn:
                if not conn.execute(left_sql).scalar_one():
                    break
            time.sleep(0.05)
        else:
            print(f"jobs still waiting after {timeout:.0f} s", file=sys.stderr)
    finally:
        engine.dispose()
    return time.perf_counter() - t0


def poll_cpu_ms(base: str, token: str, pid: int, times: int) -> float:
    """The server's CPU per GET /orders/{id} of the buyer's last order, asked ``times`` times
    once the jobs are done (nothing else running)."""
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        order_id = client.get("/api/v1/orders").json()[0]["id"]
        for _ in range(20):
            client.get(f"/api/v1/orders/{order_id}").raise_for_status()
        cpu0 = cpu_seconds(pid)
        for _ in range(times):
            client.get(f"/api/v1/orders/{order_id}").raise_for_status()
        return (cpu_seconds(pid) - cpu0) * 1000 / times


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (its threads included)."""
    return cpu_split(pid)[0]


def cpu_split(pid: int) -> tuple[float, float, float]:
    """CPU seconds of a process so far: user + system (its threads included), system alone,
    and user + system of its main thread (uvicorn's event loop)."""

    def ticks(stat: str) -> tuple[int, int]:
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        return int(fields[11]), int(fields[12])

    user, system = ticks(f"/proc/{pid}/stat")
    loop = sum(ticks(f"/proc/{pid}/task/{pid}/stat"))
    hz = os.sysconf("SC_CLK_TCK")
    return (user + system) / hz, system / hz, loop / hz


def parts_snapshot(pid: int, path: Path) -> dict[str, list[float]]:
    """The server's totals per part so far: {part: [calls, CPU seconds]} (written by
    bench/_parts_server.py when it gets SIGUSR1)."""
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    for _ in range(200):
        if path.exists():
            totals: dict[str, list[float]] = json.loads(path.read_text())
            return totals
        time.sleep(0.05)
    raise RuntimeError("the server wrote no totals per part")


def print_parts(before: dict[str, list[float]], after: dict[str, list[float]], orders: int) -> None:
    rows, objects = [], []
    for part, (calls, seconds) in after.items():
        calls0, seconds0 = before.get(part, [0, 0.0])
        if calls <= calls0:
            continue
        if part.startswith(("orm ", "sql ")):  # counted, not timed
            objects.append((part, (calls - calls0) / orders))
        else:
            rows.append((part, (calls - calls0) / orders, (seconds - seconds0) * 1000 / orders))
    for part, calls, ms in sorted(rows, key=lambda row: -row[2]):
        print(f"    {part:<30} {calls:>6.2f} calls {ms:>7.2f} ms per paid order", flush=True)
    together = sum(row[2] for row in rows)
    print(f"    {'these parts together':<30} {'':>12} {together:>7.2f} ms", flush=True)
    for part, count in sorted(objects, key=lambda row: (-row[1], row[0])):
        print(f"    {part:<42} {count:>6.2f} per paid order", flush=True)


def print_calls(
    backend: str, before: dict[str, list[float]], after: dict[str, list[float]], orders: int
) -> None:
    """``--calls``: the calls per paid order, by part and by function (the 30 most made), and
    by function within each part named by ``--calls-in`` (the 40 most made in each)."""
    per = {
        name: (count - before.get(name, [0, 0.0])[0]) / orders
        for name, (count, _) in after.items()
        if name.startswith(("calls ", "call ")) and count > before.get(name, [0, 0.0])[0]
    }
    total = sum(n for name, n in per.items() if name.startswith("calls "))
    print(f"{backend:<12} {orders:>7} orders, one buyer: {total:,.0f} calls per paid order")

    def most(names: dict[str, float], limit: int | None) -> None:
        for name, n in sorted(names.items(), key=lambda item: -item[1])[:limit]:
            print(f"    {n:>9,.1f}  {name}", flush=True)

    most({k.removeprefix("calls "): n for k, n in per.items() if k.startswith("calls ")}, None)
    within: dict[str, dict[str, float]] = {}
    functions: dict[str, float] = {}
    for name, n in per.items():
        if name.startswith("call in "):
            part, _, function = name.removeprefix("call in ").partition(": ")
            within.setdefault(part, {})[function] = n
        elif name.startswith("call "):
            functions[name.removeprefix("call ")] = n
    most(functions, 30)
    for part, counted in sorted(within.items()):
        print(f"  in {part} ({per.get(f'calls {part}', 0):,.0f} calls per paid order):")
        most(counted, int(os.environ.get("FARMGATE_BENCH_CALLS_TOP", "40")))


def callgrind_total(out_dir: str) -> int:
    """The instructions in callgrind's dump(s) in ``out_dir`` (every thread)."""
    total = 0
    for dump in Path(out_dir).glob("callgrind.out*"):
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("summary:"):
                total = max(total, int(line.split()[1]))
    return total


def run(
    backend: str,
    orders: int,
    buyers: int,
    py_spy: str | None = None,
    poll_cpu: int = 0,
    instructions: int = 0,
    parts: bool = False,
    calls: int = 0,
    calls_in: str = "",
    arq: bool = False,
) -> None:
    parts = parts or bool(calls)
    url = (
        f"sqlite:///{tempfile.mkdtemp()}/checkout.db"
        if backend == "sqlite"
        else fresh_pg("farmgate_bench_checkout")
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with start_simulator() as sim, start_sms_simulator() as sms:
        env = {
            **sms.environment(),
            **SMS_LIMITS,
            **os.environ,
            "FARMGATE_DATABASE_URL": url,
            "FARMGATE_MEDIA_DIR": tempfile.mkdtemp(),
            "FARMGATE_PUBLIC_BASE_URL": base,
            "FARMGATE_EMBEDDED_JOBS": "true",
            "FARMGATE_RATE_LIMITS": "false",  # many buyers, one address
            # The runner's own poll stays at its default (0.5 s): a commit that queues a job wakes
            # it at once (farmgate/workers/base.py), as in production. A 0.05 s poll cost
            # the idle server about 37 ms of CPU per second.
            "FARMGATE_WECHAT_APPID": sim.state.appid,
            "FARMGATE_WECHAT_MCH_ID": sim.state.mch_id,
            "FARMGATE_WECHAT_API_KEY": sim.state.api_key,
            "FARMGATE_WECHAT_API_BASE": sim.url,
        }
        redis_url = env.pop("FARMGATE_REDIS_URL", None)
        if arq:  # a prefix of its own: nothing of another run's (or a deployment's) is touched
            env["FARMGATE_REDIS_URL"] = redis_url or "redis://127.0.0.1:6379/0"
            env["FARMGATE_QUEUE_PREFIX"] = f"bench-checkout-{os.getpid()}-{port}"
        parts_file = Path(tempfile.mkdtemp()) / "parts.json" if parts else Path()
        if parts:
            env["FARMGATE_BENCH_PARTS"] = str(parts_file)
        if calls:
            env["FARMGATE_BENCH_CALLS"] = "1"
            env["FARMGATE_BENCH_CALLS_IN"] = calls_in
        callgrind_dir = tempfile.mkdtemp() if instructions else ""
        if instructions:
            env["FARMGATE_DISPATCH_POLL_SECONDS"] = "10"
        subprocess.run(
            [sys.executable, "-m", "farmgate.cli", "demo", "--no-serve"],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.execute(text("UPDATE sku SET stock = 1000000"))
        engine.dispose()
        under = (
            [
                *("valgrind", "--tool=callgrind", "--instr-atstart=no"),
                f"--callgrind-out-file={callgrind_dir}/callgrind.out",
            ]
            if instructions
            else []
        )
        proc = subprocess.Popen(
            [
                *under,
                sys.executable,
                "-m",
                "bench._parts_server" if parts else "uvicorn",
                "farmgate.asgi:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            cwd=ROOT,
            stderr=subprocess.DEVNULL if instructions else None,  # valgrind's own report
        )
        worker = (
            subprocess.Popen(
                [sys.executable, "-m", "farmgate.cli", "worker"],
                env=env,
                cwd=ROOT,
                stderr=subprocess.DEVNULL,
            )
            if arq
            else None
        )
        try:
            # a slow machine (or the call counter) can take more than 10 s to start
            for _ in range(100 * (60 if instructions else 6)):
                if proc.poll() is not None:
                    raise SystemExit(f"the server exited with {proc.returncode}")
                try:
                    httpx.get(base + "/api/v1/categories", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            tokens = []
            for i in range(buyers):
                phone = f"1370000{i:04d}"
                register_buyer(base, sms, phone, "bench-password")
                tokens.append(
                    httpx.post(
                        base + "/api/v1/auth/token",
                        json={"phone": phone, "password": "bench-password"},
                        timeout=120,  # a password hash under callgrind takes seconds
                    ).json()["access_token"]
                )
            latencies: list[float] = []
            polls: list[int] = []
            lock = threading.Lock()
            if instructions:
                buyer(base, tokens[0], 5, 1, [], lock, sim, [])  # warm: first calls, caches
                wait_for_jobs(url, timeout=600)
                control = ["callgrind_control", str(proc.pid)]
                subprocess.run([*control, "-i", "on"], check=True, capture_output=True)
                buyer(base, tokens[0], instructions, 1, latencies, lock, sim, polls)
                wait_for_jobs(url, timeout=600)
                subprocess.run([*control, "-d"], check=True, capture_output=True)
                time.sleep(1)
                count = callgrind_total(callgrind_dir)
                print(
                    f"{backend:<12} {instructions:>7} orders, one buyer: "
                    f"{count / instructions / 1e6:.2f} M instructions per paid order",
                    flush=True,
                )
                return
            if calls:
                buyer(base, tokens[0], 5, 1, [], lock, sim, [])  # warm: first calls, caches
                wait_for_jobs(url, timeout=600)
                counted0 = parts_snapshot(proc.pid, parts_file)
                buyer(base, tokens[0], calls, 1, latencies, lock, sim, polls)
                wait_for_jobs(url, timeout=600)
                print_calls(backend, counted0, parts_snapshot(proc.pid, parts_file), calls)
                return
            per_buyer = orders // buyers
            spy = None
            if py_spy:  # a sampling profile of the server while the buyers buy
                spy = subprocess.Popen(
                    [
                        *(py_spy, "record", "-p", str(proc.pid), "-r", "200", "--format", "raw"),
                        *("-o", f"/tmp/farmgate-checkout-{backend}.txt", "--nonblocking"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1)
            parts0 = parts_snapshot(proc.pid, parts_file) if parts else {}
            cpu0 = cpu_split(proc.pid)
            worker0 = cpu_split(worker.pid)[0] if worker else 0.0
            t0 = time.perf_counter()
            threads = [
                threading.Thread(
                    target=buyer, args=(base, tok, per_buyer, 1, latencies, lock, sim, polls)
                )
                for tok in tokens
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            drain = wait_for_jobs(url)
            cpu_ms, sys_ms, loop_ms = (
                (after - before) * 1000 / max(1, len(latencies))
                for after, before in zip(cpu_split(proc.pid), cpu0, strict=True)
            )
            worker_ms = (
                (cpu_split(worker.pid)[0] - worker0) * 1000 / max(1, len(latencies))
                if worker
                else 0.0
            )
            parts1 = parts_snapshot(proc.pid, parts_file) if parts else {}
            if spy is not None:
                spy.send_signal(2)
                spy.wait(30)
            lat = sorted(latencies)
            per_poll = (
                f"{poll_cpu_ms(base, tokens[0], proc.pid, poll_cpu):>8.2f}" if poll_cpu else ""
            )
            print(
                f"{backend:<12} {len(lat):>7} {len(lat) / elapsed:>9.1f} "
                f"{statistics.median(lat):>8.2f} {lat[max(0, int(len(lat) * 0.99) - 1)]:>8.2f} "
                f"{cpu_ms:>7.1f} {loop_ms:>8.1f} {sys_ms:>7.1f} "
                f"{statistics.mean(polls):>6.1f} {drain:>7.1f} "
                f"{page_bytes(base):>12}{per_poll}",
                flush=True,
            )
            if worker:
                print(
                    f"    the arq worker process: {worker_ms:.1f} ms per paid order; "
                    f"web and worker together: {cpu_ms + worker_ms:.1f}",
                    flush=True,
                )
            if parts:
                print_parts(parts0, parts1, len(latencies))
        finally:
            proc.terminate()
            proc.wait(120 if instructions else 10)
            if worker:
                worker.terminate()
                worker.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--buyers", type=int, default=4)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--py-spy", metavar="PATH", help="py-spy binary: profile the server while buyers buy"
    )
    parser.add_argument(
        "--poll-cpu",
        type=int,
        default=0,
        metavar="N",
        help="then measure the server's CPU per GET /orders/{id} over N polls by one client",
    )
    parser.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="instead: instructions per paid order under callgrind, over N orders by one buyer",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=0,
        metavar="N",
        help="instead: Python and C calls per paid order, by part and by function, over N orders",
    )
    parser.add_argument(
        "--calls-in",
        default="",
        metavar="PART,...",
        help="with --calls: also the functions called most within these parts",
    )
    parser.add_argument(
        "--parts",
        action="store_true",
        help="then print the server's CPU per paid order by part, and its ORM objects per order",
    )
    parser.add_argument(
        "--arq",
        action="store_true",
        help="jobs through Redis and a farmgate worker process, as in production",
    )
    args = parser.parse_args()
    if args.instructions or args.calls:
        for backend in args.backends.split(","):
            run(
                backend,
                0,
                1,
                instructions=args.instructions,
                calls=args.calls,
                calls_in=args.calls_in,
            )
        return
    print(
        f"{'backend':<12} {'orders':>7} {'orders/s':>9} {'p50 s':>8} {'p99 s':>8} "
        f"{'CPU ms':>7} {'loop ms':>8} {'sys ms':>7} {'polls':>6} {'jobs s':>7} {'page bytes':>12}"
        + (f"{'poll ms':>8}" if args.poll_cpu else "")
    )
    for backend in args.backends.split(","):
        run(
            backend,
            args.orders,
            args.buyers,
            args.py_spy,
            args.poll_cpu,
            parts=args.parts,
            arq=args.arq,
        )


if __name__ == "__main__":
    main()
