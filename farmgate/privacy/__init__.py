"""Personal information on request: a person's data export and account deletion.

It reads across accounts and orders (orders stay, without the person), so it sits above both.
"""
