"""A persisted copy of an ``EmbeddedIndex``, so a new process can search within seconds.

Building the index from the database costs about 15 s and the analysis of every document at
100,000 products; loading a snapshot costs reading arrays. The file is one uncompressed
``.npz`` (numpy arrays only, loaded with ``allow_pickle=False``): postings as one int32 array
with offsets, the row columns, the documents and the facet values as UTF-8 JSON, the typo and
prefix vocabularies' words, and the search store's version it holds. The store
(``store.EmbeddedStore``) loads it at its first catch-up, applies the entries written since that
version, and checks the result against the database before trusting it.

Written to a temporary file and renamed, so a reader never sees half a snapshot; a damaged or
foreign file is ignored (the index is then built from the database as before).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from farmgate.search import analysis as an
from farmgate.search.backend import SearchDocument
from farmgate.search.embedded import EmbeddedIndex
from farmgate.search.embedded_state import _CAT_FIELDS, Categorical, State, fold

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the layout (or the analysis that made the postings) changes


def _text(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode(), np.uint8)


def _untext(arr: np.ndarray) -> Any:
    return json.loads(arr.tobytes().decode())


def save(index: EmbeddedIndex, version: int, gone: set[int], path: Path) -> None:
    """Write ``index`` (which holds every entry up to ``version``) to ``path`` atomically."""
    # The writer's lock: the state, lexicon and name words must be read at one moment.
    with index._lock:
        st = index._state
        n = st.n
        postings = fold(st.main, st.delta)
        keys = list(postings)
        arrays = [postings[k] for k in keys]
        lengths = np.fromiter((len(a) for a in arrays), np.int64, len(arrays))
        lex = index._lexicon
        data: dict[str, np.ndarray] = {
            "meta": _text(
                {
                    "format": FORMAT,
                    "version": version,
                    "n": n,
                    "live": st.live,
                    "analysis": an.__name__,
                }
            ),
            "keys": _text(keys),
            "offsets": np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            "rows": np.concatenate(arrays) if arrays else np.zeros(0, np.int32),
            "alive": st.alive[:n].copy(),
            **_docs(st.docs),
            "cats": _text({f: [list(c.values), list(c.labels)] for f, c in st.cats.items()}),
            "latin": _text(lex._latin_keys),
            "typo": _text(sorted(lex._typo_words)),
            "words": _text(dict(index._words._words)),
            "gone": np.fromiter(sorted(gone), np.int64, len(gone)),
        }
        for name, col in st.cols.items():
            data["col_" + name] = col[:n].copy()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **data)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LazyDocs(list):  # type: ignore[type-arg]
    """The snapshot's documents, each decoded at its first use (most never are: a hit's row).

    A list holding None for a document not decoded yet; the index reads it by position only
    (``docs[row]``) and appends to it, like the plain list it replaces.
    """

    def __init__(self, blob: bytes, offsets: np.ndarray) -> None:
        super().__init__([None] * (len(offsets) - 1))
        self._blob = blob
        self._offsets = offsets.tolist()

    def __getitem__(self, i: Any) -> Any:
        doc = super().__getitem__(i)
        if doc is None:
            doc = SearchDocument.from_dict(json.loads(self.raw(i)))
            super().__setitem__(i, doc)  # a race decodes twice, to equal values
        return doc

    def raw(self, i: int) -> bytes:
        return self._blob[self._offsets[i] : self._offsets[i + 1]]


def _docs(docs: list[SearchDocument]) -> dict[str, np.ndarray]:
    parts = []
    for i in range(len(docs)):
        if isinstance(docs, LazyDocs) and list.__getitem__(docs, i) is None:
            parts.append(docs.raw(i))
        else:
            parts.append(json.dumps(docs[i].to_dict(), ensure_ascii=False).encode())
    lengths = np.fromiter((len(p) for p in parts), np.int64, len(parts))
    return {
        "docs": np.frombuffer(b"".join(parts), np.uint8),
        "doc_offsets": np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
    }


def load(path: Path) -> tuple[EmbeddedIndex, int, set[int]] | None:
    """The index, its version and the tombstoned product ids; None without a usable file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = _untext(z["meta"])
            if meta.get("format") != FORMAT:
                return None
            return _restore(z, meta)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged file costs a rebuild, never a failed search
        log.warning("search snapshot %s is unusable; building from the database", path)
        return None


def _restore(z: Any, meta: dict[str, Any]) -> tuple[EmbeddedIndex, int, set[int]]:
    n, live = int(meta["n"]), int(meta["live"])
    keys: list[str] = _untext(z["keys"])
    offsets = z["offsets"]
    rows = z["rows"]
    main = {k: rows[offsets[i] : offsets[i + 1]] for i, k in enumerate(keys)}
    size = max(1024, n)
    cols: dict[str, np.ndarray] = {}
    for name in z.files:
        if name.startswith("col_"):
            col = z[name]
            full = np.zeros(size, col.dtype)
            full[:n] = col
            cols[name[4:]] = full
    alive = np.zeros(size, bool)
    alive[:n] = z["alive"]
    docs = LazyDocs(z["docs"].tobytes(), z["doc_offsets"])
    cats = {name: Categorical.of(v, lab) for name, (v, lab) in _untext(z["cats"]).items()}
    for name in _CAT_FIELDS:
        cats.setdefault(name, Categorical())

    index = EmbeddedIndex()
    index._state = State(n, main, {}, 0, alive, cols, docs, cats, live)
    index._row_of = {int(i): r for r, i in enumerate(cols["ids"][:n].tolist()) if alive[r]}
    lex = index._lexicon
    lex._latin_keys = _untext(z["latin"])
    lex._latin_set = set(lex._latin_keys)
    lex._typo_words = set(_untext(z["typo"]))
    for word in lex._typo_words:
        lex.typo.add(an.pinyin(word))
    index._words._words = Counter(_untext(z["words"]))
    index._words._words_version += 1
    gone = {int(i) for i in z["gone"].tolist()}
    return index, int(meta["version"]), gone
