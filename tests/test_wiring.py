"""How the packages hang together: no import cycles between farmgate's subpackages, and
behaviour wired by ``farmgate.bootstrap.install()``, never by what happened to be imported."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import farmgate
from farmgate.bootstrap import install
from farmgate.errors import AuthenticationRequired, FarmgateError
from farmgate.jobs import registry
from farmgate.models import Labelled, OrderStatus, OutboxJob, ParcelStatus, RefundStatus
from farmgate.reports import tasks as report_tasks

ROOT = Path(farmgate.__file__).parent
REPO = ROOT.parent


def _imports(path: Path, package: str) -> set[str]:
    """Every farmgate module named by an import in the file, at module or function level."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return {n for n in names if n.startswith("farmgate.")}


def package_graph() -> dict[str, dict[str, list[str]]]:
    """First-level subpackage -> the subpackages it imports -> the files that do."""
    subpackages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[0] not in subpackages:
            continue  # top-level modules (app, cli, bootstrap) wire the packages together
        package = ".".join(("farmgate", *parts[:-1]))
        for name in _imports(path, package):
            target = name.split(".")[1]
            if target in subpackages and target != parts[0]:
                graph[parts[0]][target].append(str(path.relative_to(REPO)))
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b": ["a.py"]}, "b": {"c": ["b.py"]}, "c": {"a": ["c.py"]}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": ["a.py"]}, "b": {}}) is None


def test_no_import_cycles_between_subpackages() -> None:
    graph = package_graph()
    assert "orders" in graph and "models" in graph["orders"]  # the graph is really built
    cycle = find_cycle(graph)
    if cycle is not None:
        edges = [f"{a} -> {b}: {', '.join(sorted(set(graph[a][b])))}" for a, b in pairwise(cycle)]
        raise AssertionError("import cycle " + " -> ".join(cycle) + "\n" + "\n".join(edges))


_PROBE = """
import json
import {module}
import pytest
from sqlalchemy.orm import Session
from farmgate.jobs import registry
hooks = ("before_flush", "before_commit", "after_rollback", "after_commit", "after_transaction_end")
tracking = ("farmgate.search.tracking", "farmgate.reports.tracking", "farmgate.media.photos")
listeners = lambda: sum(
    fn.__module__ in tracking for h in hooks for fn in getattr(Session().dispatch, h)
)
before = {{"listeners": listeners(), "jobs": sorted(registry.all_jobs())}}
from farmgate.bootstrap import install
install()
install()
from farmgate.reports import tracking as reports
from farmgate.search import tracking as search
from farmgate.media import photos as media
after = {{
    "listeners": listeners(),
    "tracking": [search.registered(), reports.registered(), media.registered()],
    "jobs": sorted(registry.all_jobs()),
    "periodic": sorted(registry.periodic_jobs()),
}}
print(json.dumps({{"before": before, "after": after}}))
"""


def _probe(module: str) -> dict[str, dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "FARMGATE_JOB_MODULES": "[]"},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_importing_registers_nothing_install_registers_everything() -> None:
    for module in ("farmgate.catalog.service", "farmgate.cli"):
        seen = _probe(module)
        assert seen["before"] == {"listeners": 0, "jobs": []}, module
        after = seen["after"]
        assert after["tracking"] == [True, True, True]
        assert after["jobs"] == [
            "ledger.post",
            "logistics.apply_push",
            "logistics.create_waybill",
            "logistics.subscribe",
            "notify.send",
            "orders.release_unpaid",
            "payments.apply_notification",
            "payments.refund",
            "payments.share_order",
            "payments.share_query",
            "payments.share_return",
            "payments.share_send",
            "payments.share_unfreeze",
            "presale.harvest_notice",
            "reports.refresh_day",
            "search.reflect",
            "sms.send_code",
            "stations.sms_order_placed",
            "stations.sms_parcel_arrived",
            "system.noop",
            "trace.excursion_alert",
            "translog.publish_head",
        ]
        assert after["periodic"] == [
            "ledger.settle_due",
            "logistics.poll",
            "media.sweep",
            "orders.auto_confirm",
            "payments.check_bill",
            "payments.reconcile",
            "payments.refresh_platform_certificates",
            "reports.refresh_recent",
            "search.refresh_sales",
            "sms.prune_codes",
            "trace.find_alerts",
            "translog.integrate",
        ]
        assert after["listeners"] == 8  # 3 hooks each for search and reports, 2 for media, once


def test_a_job_handle_queues_its_stored_name(session: Session) -> None:
    row = session.get(
        OutboxJob,
        report_tasks.refresh_day.enqueue(session, {"day": "2026-09-01"}, key="report-day:x"),
    )
    assert row is not None
    assert row.job == "reports.refresh_day" == report_tasks.refresh_day.name
    assert row.args == {"day": "2026-09-01"} and row.queue == "slow"
    assert row.key == "report-day:x" and row.status == "pending" and row.attempts == 0
    assert registry.get("reports.refresh_day") is report_tasks.refresh_day.spec


def test_commit_anyway_is_typed_on_the_error() -> None:
    assert FarmgateError("x").commit_anyway is False
    error = AuthenticationRequired("手机号或密码不正确", commit_anyway=True)
    assert error.commit_anyway is True and error.context == {}


def test_every_status_has_its_word() -> None:
    assert OrderStatus.PAID.label == "已付款"
    assert ParcelStatus.label_of("delivered") == "已签收"
    assert ParcelStatus.label_of("unknown") == "unknown"
    assert RefundStatus("pending_cash").label == "待退现金"
    for enum in Labelled.__subclasses__():
        assert all(member.label for member in enum), enum


def test_a_quick_job_may_not_outlast_the_quick_queue_s_limit() -> None:
    """A killed worker's quick job comes back after the queue's longest timeout + 10 s:
    a long quick job would hold every other one back that long."""
    with pytest.raises(ValueError, match="at most 30 s"):
        registry.job("tests.too_slow_for_quick", timeout=31)(lambda session, args: None)
    assert "tests.too_slow_for_quick" not in registry.all_jobs()
    install()
    quick = [s.timeout for s in registry.all_jobs().values() if s.queue == "quick"]
    assert quick and max(quick) <= registry.QUICK_TIMEOUT_MAX
