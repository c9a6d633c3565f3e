"""GS1 encodings, pure (no database): GTINs, Digital Link URIs and EPCIS 2.0 JSON-LD documents.

``gtin`` checks and numbers GTINs, ``digital_link`` parses and builds Digital Link URIs,
``serials`` makes and checks the unit serials printed in them, and ``epcis`` turns neutral
event records into EPCIS 2.0 documents. The trace package reads the database and hands its
rows to these encoders.
"""
