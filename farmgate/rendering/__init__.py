"""Pictures and files made from data, with no database: QR labels, SVG charts, spreadsheets.

``labels`` draws QR codes and printable label sheets, ``charts`` the temperature chart of a
shipment and ``spreadsheets`` the CSV and XLSX writers every export shares.
"""
