"""Display words (Simplified Chinese) beside the enums they name.

Every enum that people read gets a ``label``: ``OrderStatus.PAID.label == "已付款"``. Keeping
the words here, next to the values, means a service never imports another domain just to
print a status, and a new member without a word fails at import (``labelled``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound="Labelled")

_WORDS: dict[type[StrEnum], Mapping[str, str]] = {}


class Labelled(StrEnum):
    """A StrEnum whose members carry a display word (set with ``@labelled``)."""

    @property
    def label(self) -> str:
        return _WORDS[type(self)][self.value]

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Value -> word, in declaration order (for templates and option lists)."""
        return {m.value: m.label for m in cls}

    @classmethod
    def label_of(cls, value: str) -> str:
        """The word for a stored value; an unknown value is shown as it is."""
        return _WORDS[cls].get(str(value), str(value))


def labelled(words: Mapping[str, str]) -> Callable[[type[E]], type[E]]:
    """Give every member of the decorated enum its word; a missing word is an error."""

    def decorate(cls: type[E]) -> type[E]:
        missing = [m.value for m in cls if m.value not in words]
        if missing:
            raise ValueError(f"{cls.__name__}: no label for {missing}")
        _WORDS[cls] = {str(k): v for k, v in words.items()}
        return cls

    return decorate
