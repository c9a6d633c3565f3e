"""Carts, checkout, orders with their state machine, fulfilments and stock reservations."""
