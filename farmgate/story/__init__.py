"""A lot's public story: what the trace page, its JSON twin and the records export show.

It composes the core trace (chain, certificates, inspections, lineage) with the cold chain, so
it sits above both: trace and coldchain never import it.
"""
