"""A verifier for farmgate's transparency log that needs only the log's public key and the
site's URL: no database, no FastAPI (``.importlinter`` keeps it so).

    from farmgate.verifier import verify_lot
    report = verify_lot("https://example.org", "LOT-1", key="example.org/translog+abcd1234+AQ...")

``merkle`` and ``note`` are the RFC 9162 proofs and the signed heads; ``client`` talks to the
site, keeps the heads seen in a small state file and checks a lot; ``witness`` mirrors heads.
"""

from farmgate.verifier.client import Report, verify_lot

__all__ = ["Report", "verify_lot"]
