"""The trade's vocabulary as every process sees it: the shipped file with the admin's overrides.

Overrides are ``SearchSynonym`` rows, one per word, so a change made on the console in one
process is read by every other before its next search (``current``: one query of a table of a
few dozen rows). Each change is written to the audit log in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.db import utcnow
from farmgate.errors import ValidationFailed
from farmgate.models import Account, SearchSynonym
from farmgate.search.vocabulary import (
    Synonyms,
    VocabularyError,
    clean_expansions,
    clean_word,
    from_file,
    merged,
)


@dataclass(frozen=True)
class Entry:
    """One word as the console lists it: what it finds now and where that comes from."""

    word: str
    expansions: tuple[str, ...]  # in effect (empty: switched off)
    shipped: tuple[str, ...]  # the file's (empty: not in the file)
    overridden: bool


def overrides(session: Session) -> list[SearchSynonym]:
    return list(session.scalars(select(SearchSynonym).order_by(col(SearchSynonym.word))))


def current(session: Session) -> Synonyms:
    """The vocabulary in effect: the file, each override replacing its word."""
    rows = session.execute(select(col(SearchSynonym.word), col(SearchSynonym.expansions))).all()
    return merged(from_file(), ((word, found.split()) for word, found in rows))


def entries(session: Session) -> list[Entry]:
    """Every word, the file's and the admin's, in the file's order then the added ones."""
    shipped = from_file().entries
    mine = {row.word: tuple(row.expansions.split()) for row in overrides(session)}
    words = [*shipped, *sorted(w for w in mine if w not in shipped)]
    return [Entry(w, mine.get(w, shipped.get(w, ())), shipped.get(w, ()), w in mine) for w in words]


def save(session: Session, admin: Account, word: str, expansions: str) -> SearchSynonym:
    """Override (or add) a word; no expansions switches it off. Bad input: ValidationFailed
    with the field's message, nothing written."""
    try:
        clean = clean_word(word)
        found = clean_expansions(clean, expansions)
    except VocabularyError as exc:
        raise ValidationFailed(str(exc), fields={exc.field: str(exc)}) from exc
    row = session.get(SearchSynonym, clean)
    before = {"expansions": row.expansions} if row is not None else None
    if row is None:
        row = SearchSynonym(word=clean)
        session.add(row)
    row.expansions = " ".join(found)
    row.updated_at = utcnow()
    row.updated_by_id = admin.id
    session.flush()
    summary = f"搜索词“{clean}”改为：{'、'.join(found)}" if found else f"停用搜索词“{clean}”"
    audit.record(
        session,
        admin,
        "search.vocabulary",
        "search_synonym",
        None,
        summary,
        before=before,
        after={"word": clean, "expansions": row.expansions},
    )
    return row


def reset(session: Session, admin: Account, word: str) -> bool:
    """Drop the override of ``word`` (back to the file's entry, or gone); False if none."""
    row = session.get(SearchSynonym, word)
    if row is None:
        return False
    audit.record(
        session,
        admin,
        "search.vocabulary",
        "search_synonym",
        None,
        f"搜索词“{word}”恢复默认",
        before={"word": word, "expansions": row.expansions},
    )
    session.delete(row)
    session.flush()
    return True
