"""Payments: a provider interface (modelled on Stripe's PaymentIntent), WeChat Pay and cash.

Notifications follow verify -> store (keyed by the provider's transaction id) -> acknowledge
-> apply in a job; an order is never paid twice.
"""
