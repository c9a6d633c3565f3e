"""Production's first run: no demo, the township from a file, an admin with a hidden password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from farmgate.config import settings
from farmgate.models import Account, Role, Township, Village


def _cli(*args: str, **kwargs):  # type: ignore[no-untyped-def]
    from farmgate.cli import app

    return CliRunner().invoke(app, list(args), **kwargs)


def test_demo_refuses_to_run_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    upgraded: list[bool] = []
    monkeypatch.setattr(settings, "env", "production")
    monkeypatch.setattr("farmgate.db.upgrade_database", lambda: upgraded.append(True))
    result = _cli("demo", "--no-serve")
    assert result.exit_code == 1
    assert "FARMGATE_ENV=production" in result.output
    assert "farmgate township init" in result.output
    assert upgraded == []  # refused before touching the database
    from farmgate.demo.seed import seed

    with pytest.raises(RuntimeError):
        seed(None)  # type: ignore[arg-type]


def _counts() -> tuple[int, int, int]:
    from farmgate.db import session_scope

    with session_scope() as session:
        return (
            session.query(Township).count(),
            session.query(Village).count(),
            session.query(Account).count(),
        )


def test_township_init_from_builtin_json_and_csv_is_idempotent(
    committed_db: Engine, tmp_path: Path
) -> None:
    first = _cli("township", "init")
    assert first.exit_code == 0, first.output
    assert "10 village(s) added" in first.output
    assert _cli("township", "init").exit_code == 0
    assert _counts() == (1, 10, 0)  # no accounts: nothing with a published password

    doc = {
        "code": "431223100",
        "name": "示范镇",
        "county": "辰溪县",
        "city": "怀化市",
        "province": "湖南省",
        "villages": ["东村", {"name": "西村", "code": "431223100201"}],
    }
    (tmp_path / "t.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert _cli("township", "init", str(tmp_path / "t.json")).exit_code == 0
    header = "township_code,township_name,county,city,province,village,village_code\n"
    row = "431223100,示范镇,辰溪县,怀化市,湖南省,{},\n"
    (tmp_path / "t.csv").write_text(
        header + row.format("西村") + row.format("南村"), encoding="utf-8"
    )
    again = _cli("township", "init", str(tmp_path / "t.csv"))
    assert again.exit_code == 0 and "1 village(s) added" in again.output
    assert _counts() == (2, 13, 0)

    (tmp_path / "bad.json").write_text('{"code": "x", "villages": []}', encoding="utf-8")
    bad = _cli("township", "init", str(tmp_path / "bad.json"))
    assert bad.exit_code == 1 and "乡镇信息不完整" in bad.output
    assert _counts() == (2, 13, 0)


@pytest.mark.parametrize("source", ["stdin", "env", "prompt"])
def test_create_admin_takes_the_password_without_echoing_it(  # type: ignore[no-untyped-def]
    committed_db: Engine, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    from farmgate.accounts import service as accounts
    from farmgate.db import session_scope

    secret = "a-long-admin-passphrase"
    args = ["users", "create-admin", "--phone", "13800000001", "--name", "张站长"]
    if source == "stdin":
        result = _cli(*args, "--password-stdin", input=secret + "\n")
    elif source == "env":
        result = _cli(*args, env={"FARMGATE_ADMIN_PASSWORD": secret})
    else:
        monkeypatch.setattr("getpass.getpass", lambda prompt="": secret)
        result = _cli(*args)
    assert result.exit_code == 0, result.output
    assert secret not in result.output
    with session_scope() as session:
        admin = session.query(Account).one()
        assert admin.role == Role.ADMIN and admin.display_name == "张站长"
        assert accounts.authenticate(session, "13800000001", secret).id == admin.id


def test_create_admin_refuses_a_password_on_the_command_line(committed_db: Engine) -> None:
    result = _cli("users", "create-admin", "--phone", "13800000001", "--password", "x")
    assert result.exit_code != 0
    assert _counts()[2] == 0
