"""The log's Merkle proofs and signed heads, without a database: against a straightforward
recursive reading of RFC 9162 §2.1, and against Go's note package's published example."""

from __future__ import annotations

import hashlib
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmgate.verifier import merkle, note


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1, as written: recursion over the list of entries ---


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def entries(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


def stored_nodes(d: list[bytes]):  # type: ignore[no-untyped-def]
    """Every complete aligned subtree's hash, as the log stores them."""
    level = [merkle.leaf_hash(x) for x in d]
    nodes = {(0, i): h for i, h in enumerate(level)}
    depth = 0
    while len(level) > 1:
        level = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        depth += 1
        nodes.update({(depth, i): h for i, h in enumerate(level)})
    return lambda lv, i: nodes[(lv, i)]


SIZES = [*range(1, 70), 127, 128, 129, 255, 256, 257, 1000, 1023, 1025]


@pytest.mark.parametrize("n", SIZES)
def test_inclusion_proofs_match_the_rfc_and_verify(n: int) -> None:
    d = entries(n)
    node = stored_nodes(d)
    root = merkle.range_hash(0, n, node)
    assert root == mth(d)
    indices = range(n) if n <= 70 else random.Random(n).sample(range(n), 40)
    for m in indices:
        proof = [merkle.range_hash(a, b, node) for a, b in merkle.inclusion_ranges(m, n)]
        assert proof == path(m, d)
        leaf = merkle.leaf_hash(d[m])
        assert merkle.verify_inclusion(m, n, leaf, proof, root)
        assert not merkle.verify_inclusion(m, n, merkle.leaf_hash(b"forged"), proof, root)
        if n > 1:
            assert not merkle.verify_inclusion((m + 1) % n, n, leaf, proof, root)
            assert not merkle.verify_inclusion(m, n, leaf, proof[:-1], root)


@pytest.mark.parametrize("n", [*range(1, 40), 64, 65, 100, 257])
def test_consistency_proofs_match_the_rfc_and_verify(n: int) -> None:
    d = entries(n)
    node = stored_nodes(d)
    new_root = mth(d)
    firsts = range(1, n + 1) if n <= 40 else random.Random(n).sample(range(1, n + 1), 30)
    for m in firsts:
        old_root = mth(d[:m])
        proof = [merkle.range_hash(a, b, node) for a, b in merkle.consistency_ranges(m, n)]
        assert proof == (subproof(m, d, True) if m < n else [])
        assert merkle.verify_consistency(m, n, old_root, new_root, proof)
        if m < n:
            # A rewritten history: the old tree's last entry changed.
            other = mth([*d[: m - 1], b"rewritten"])
            assert not merkle.verify_consistency(m, n, other, new_root, proof)
            assert not merkle.verify_consistency(m, n, old_root, _h(b"other"), proof)
            assert not merkle.verify_consistency(m, n, old_root, new_root, proof[1:])


def test_perfect_parts_cover_a_range_with_aligned_complete_subtrees() -> None:
    for start in range(0, 40):
        for end in range(start + 1, 80):
            parts = merkle.perfect_parts(start, end)
            at = start
            for level, index in parts:
                assert index << level == at
                at += 1 << level
            assert at == end


def test_a_signed_head_opens_with_its_key_and_nothing_else() -> None:
    private = Ed25519PrivateKey.generate()
    key = note.public_key(private, "example.org/translog")
    checkpoint = note.Checkpoint("example.org/translog", 7, _h(b"root"))
    signed = note.sign(checkpoint.text(), private, key.name)
    assert note.open_checkpoint(signed, note.parse_vkey(key.vkey)) == checkpoint
    assert note.sign(checkpoint.text(), private, key.name) == signed  # deterministic
    with pytest.raises(note.NoteError):
        note.open_checkpoint(signed.replace("\n7\n", "\n8\n"), key)
    stranger = note.public_key(Ed25519PrivateKey.generate(), "example.org/translog")
    with pytest.raises(note.NoteError):
        note.open_checkpoint(signed, stranger)


def test_goes_published_note_example_verifies() -> None:
    """golang.org/x/mod/sumdb/note's documented example: our format is Go's."""
    key = note.parse_vkey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    signed = (
        "If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n"
        "\n"
        "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
        "qfqdngotpRZb6KE6RyyBwJnAM=\n"
    )
    assert note.open_note(signed, key).startswith("If you think")
    with pytest.raises(note.NoteError):
        note.open_note(signed.replace("answer", "Answer"), key)
