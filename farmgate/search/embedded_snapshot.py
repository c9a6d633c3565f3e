"""A persisted copy of an ``EmbeddedIndex``, so a new process can search within seconds.

Building the index from the database costs about 15 s and the analysis of every document at
100,000 products; loading a snapshot costs mapping a file. The file is a magic line, a pickle
(protocol 5) of plain containers and numpy arrays, then the pickle's large buffers out of band,
each 64-byte aligned: postings as one int32 array with offsets, the row columns, the documents
as UTF-8 JSON, the facet values with the terms that match them, the typo and prefix
vocabularies, and the search store's version it holds. It is mapped (``mmap``) and the arrays
and the documents are read-only views of it: nothing is copied or decoded at load, and a
document's bytes are read when a hit shows it. The file is written only by ``save`` into the
application's own data directory, so unpickling it trusts no one but this code. The store
(``store.EmbeddedStore``) loads it at its first catch-up, applies the entries written since that
version, and checks the result against the database before trusting it.

Written to a temporary file and renamed, so a reader never sees half a snapshot; a damaged or
foreign file is ignored (the index is then built from the database as before).
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import pickle
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

FORMAT = 2  # bump when the layout (or the analysis that made the postings) changes
MAGIC = b"farmgate-search-snapshot\n"


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
        blob, doc_offsets = _docs(st.docs)
        data: dict[str, Any] = {
            "meta": {
                "format": FORMAT,
                "version": version,
                "n": n,
                "live": st.live,
                "analysis": an.__name__,
            },
            "keys": keys,
            "offsets": np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            "rows": np.concatenate(arrays) if arrays else np.zeros(0, np.int32),
            "alive": st.alive[:n].copy(),
            "docs": pickle.PickleBuffer(blob),
            "doc_offsets": doc_offsets,
            # Facet values with the terms that match them, and the typo index's keys, as
            # they are: rebuilding them at load would analyse (and pinyin) every label.
            "cats": {
                f: (c.values, c.labels, c.code_of, c.terms, c.exact, c.latin)
                for f, c in st.cats.items()
            },
            "latin": list(lex._latin_keys),
            "typo_words": sorted(lex._typo_words),
            "typo_keys": lex.typo._keys,
            "words": dict(index._words._words),
            "gone": sorted(gone),
            "cols": {name: col[:n].copy() for name, col in st.cols.items()},
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            _write(out, data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LazyDocs(list):  # type: ignore[type-arg]
    """The snapshot's documents, each decoded at its first use (most never are: a hit's row).

    A list holding None for a document not decoded yet; the index reads it by position only
    (``docs[row]``) and appends to it, like the plain list it replaces.
    """

    def __init__(self, blob: bytes | memoryview, offsets: list[int]) -> None:
        super().__init__([None] * (len(offsets) - 1))
        self._blob = blob
        self._offsets = offsets

    def __getitem__(self, i: Any) -> Any:
        doc = super().__getitem__(i)
        if doc is None:
            doc = SearchDocument.from_dict(json.loads(self.raw(i)))
            super().__setitem__(i, doc)  # a race decodes twice, to equal values
        return doc

    def raw(self, i: int) -> bytes:
        return bytes(self._blob[self._offsets[i] : self._offsets[i + 1]])


def _docs(docs: list[SearchDocument]) -> tuple[bytes, list[int]]:
    parts = []
    for i in range(len(docs)):
        if isinstance(docs, LazyDocs) and list.__getitem__(docs, i) is None:
            parts.append(docs.raw(i))
        else:
            parts.append(json.dumps(docs[i].to_dict(), ensure_ascii=False).encode())
    offsets = [0]
    for p in parts:
        offsets.append(offsets[-1] + len(p))
    return b"".join(parts), offsets


ALIGN = 64


def _write(out: Any, data: dict[str, Any]) -> None:
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(data, protocol=5, buffer_callback=buffers.append)
    out.write(MAGIC)
    out.write(len(head).to_bytes(8, "little"))
    out.write(len(buffers).to_bytes(8, "little"))
    out.write(head)
    at = len(MAGIC) + 16 + len(head)
    for buf in buffers:
        raw = buf.raw()
        pad = -(at + 8) % ALIGN
        out.write(len(raw).to_bytes(8, "little") + b"\0" * pad)
        out.write(raw)
        at += 8 + pad + len(raw)


def _read(view: memoryview) -> Any:
    if bytes(view[: len(MAGIC)]) != MAGIC:
        raise ValueError("not a snapshot of this layout")
    at = len(MAGIC)
    head_len = int.from_bytes(view[at : at + 8], "little")
    count = int.from_bytes(view[at + 8 : at + 16], "little")
    at += 16
    head = view[at : at + head_len]
    at += head_len
    buffers = []
    for _ in range(count):
        size = int.from_bytes(view[at : at + 8], "little")
        at += 8 + (-(at + 8) % ALIGN)
        if at + size > len(view):
            raise ValueError("truncated snapshot")
        buffers.append(view[at : at + size])
        at += size
    return pickle.loads(head, buffers=buffers)


def load(path: Path) -> tuple[EmbeddedIndex, int, set[int]] | None:
    """The index, its version and the tombstoned product ids; None without a usable file."""
    try:
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # an empty file cannot be mapped
        log.warning("search snapshot %s is unusable; building from the database", path)
        return None
    try:
        # The index's arrays and documents stay views of the mapping (it lives as they do).
        data = _read(memoryview(mapped).toreadonly())
        if data["meta"].get("format") != FORMAT:
            return None
        return _restore(data)
    except Exception:  # a damaged file costs a rebuild, never a failed search
        log.warning("search snapshot %s is unusable; building from the database", path)
        return None


def _restore(z: dict[str, Any]) -> tuple[EmbeddedIndex, int, set[int]]:
    meta = z["meta"]
    n, live = int(meta["n"]), int(meta["live"])
    keys: list[str] = z["keys"]
    offsets = z["offsets"].tolist()
    rows = z["rows"]
    main = {k: rows[offsets[i] : offsets[i + 1]] for i, k in enumerate(keys)}
    size = max(1024, n)
    cols: dict[str, np.ndarray] = {}
    for name, col in z["cols"].items():
        full = np.zeros(size, col.dtype)
        full[:n] = col
        cols[name] = full
    alive = np.zeros(size, bool)
    alive[:n] = z["alive"]
    docs = LazyDocs(z["docs"], z["doc_offsets"])
    cats = {name: Categorical(*parts) for name, parts in z["cats"].items()}
    for name in _CAT_FIELDS:
        cats.setdefault(name, Categorical())

    index = EmbeddedIndex()
    index._state = State(n, main, {}, 0, alive, cols, docs, cats, live)
    ids = cols["ids"][:n].tolist()
    index._row_of = {
        i: r for r, (i, a) in enumerate(zip(ids, z["alive"].tolist(), strict=True)) if a
    }
    lex = index._lexicon
    lex._latin_keys = z["latin"]
    lex._latin_set = set(lex._latin_keys)
    lex._typo_words = set(z["typo_words"])
    lex.typo._keys = z["typo_keys"]
    index._words._words = Counter(z["words"])
    index._words._words_version += 1
    return index, int(meta["version"]), set(z["gone"])
