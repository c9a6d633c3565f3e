"""Commission rates: configuration by cooperative, category or township (zero is the default)."""

from __future__ import annotations

from farmgate.config import settings


def rate_bp(cooperative_id: int, category: str, township_code: str) -> int:
    """The most specific configured rate in basis points (100 = 1%): cooperative, category,
    township, then "default"; 0 when nothing is configured."""
    rates = settings.commission_bp
    for key in (
        f"cooperative:{cooperative_id}",
        f"category:{category}",
        f"township:{township_code}",
        "default",
    ):
        if key in rates:
            return max(0, min(10_000, int(rates[key])))
    return 0


def of(amount_fen: int, bp: int) -> int:
    """The commission on ``amount_fen`` at ``bp`` basis points, rounded half up to a fen."""
    return (amount_fen * bp + 5_000) // 10_000
