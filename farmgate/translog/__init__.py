"""The transparency log: every trace event in an append-only, signed Merkle tree (RFC 9162).

``log`` appends and proves, ``keys`` holds the signing key, ``tasks`` logs new events and
publishes heads on a schedule. docs/translog.md describes the format and the endpoints.
"""
