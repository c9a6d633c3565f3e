"""farmgate: a township's marketplace and product traceability platform."""

__version__ = "0.1.0"
