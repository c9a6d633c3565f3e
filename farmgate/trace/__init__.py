"""Traceability: batches, hash-chained trace events, cold chain, GS1 identifiers and exports."""
