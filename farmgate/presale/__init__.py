"""Pre-sale of a harvest (预售): opening one, the balance, the harvest deciding who is served."""
