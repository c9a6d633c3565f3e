"""Traceability: batches, hash-chained trace events, lineage, inspections, certificates, scans.

The pure GS1 encoders live in farmgate/gs1, the cold chain in farmgate/coldchain, labels,
charts and spreadsheet writers in farmgate/rendering; this package reads the database.
"""
