"""The cold chain: temperature profiles and excursion analysis, logger files, courier handoffs.

``temperature`` is pure (readings in, excursions and mean kinetic temperature out); ``shipments``
records a lot's cold shipments and their handoffs; ``readings`` ingests logger files;
``tasks`` alerts people when a shipment leaves its range.
"""
