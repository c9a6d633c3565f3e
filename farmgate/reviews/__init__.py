"""Buyers' reviews after receipt: writing one per order line, reports, township moderation."""
