"""Console section "搜索词": the trade's vocabulary (synonyms and occasion words) for search.

The list shows every word, what it finds now and whether that is the shipped default or the
township's own; one form overrides or adds a word (no words: switched off), and each override
can be put back to the default. Changes reach every process's search on its next query.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError
from farmgate.models import Account
from farmgate.search import vocabulary_store
from farmgate.storefront.township.deps import (
    ConsoleAdmin,
    FormValues,
    SessionDep,
    check_csrf,
    console_page,
    see_other,
    undo_refusal,
)

router = APIRouter(include_in_schema=False)
PATH = "/township/search-words"


def _page(
    request: Request,
    session: Session,
    admin: Account,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return console_page(
        request,
        admin,
        "township/search_words.html",
        section="search",
        entries=vocabulary_store.entries(session),
        errors=errors or {},
        values=values or {},
    )


@router.get(PATH, response_class=HTMLResponse)
def words(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    values = {}
    chosen = request.query_params.get("word", "")
    for entry in vocabulary_store.entries(session):
        if entry.word == chosen:  # "修改" on a row fills the form with it
            values = {"word": entry.word, "expansions": " ".join(entry.expansions)}
    return _page(request, session, admin, values=values)


@router.post(PATH, response_class=HTMLResponse)
def save(request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    try:
        row = vocabulary_store.save(
            session, admin, form.get("word", ""), form.get("expansions", "")
        )
    except FarmgateError as exc:
        undo_refusal(session, exc)
        return _page(request, session, admin, dict(exc.fields) or {"word": exc.message}, form)
    return see_other(f"{PATH}?done={quote('已保存：' + row.word)}")


@router.post(PATH + "/reset", response_class=HTMLResponse)
def reset(request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    word = form.get("word", "")
    if not vocabulary_store.reset(session, admin, word):
        return _page(request, session, admin, {"word": "这个词没有改动过，不需要恢复"})
    return see_other(f"{PATH}?done={quote('已恢复默认：' + word)}")
