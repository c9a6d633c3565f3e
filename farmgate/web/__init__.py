"""What the delivery layers ``api/`` and ``storefront/`` share, so neither imports the other."""
