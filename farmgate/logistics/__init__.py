"""Logistics: courier adapters (waybills, tracking queries, tracking pushes) and their simulator."""
