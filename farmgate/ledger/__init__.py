"""Money to the cooperatives: a double-entry ledger, settlement, payouts and statements.

Every money movement is one balanced ``LedgerTxn`` of ``LedgerEntry`` rows (debit > 0, credit
< 0, summing to zero), posted once per event: its ``key`` (``order_paid:12``, ``refund:7`` ...)
is unique, so a job that runs twice posts once. The domain events that move money (an order
paid, a pre-sale's balance paid, a late payment, a refund completed, an order completed) queue
``ledger.post`` through the outbox (``farmgate.ledger.tasks.queue``); payouts are posted as they
are recorded.

Accounts (``farmgate.ledger.accounts``): what a payment provider owes us (``clearing:wechat``),
cash at the village stations (``station_cash``), each cooperative's money not yet payable
(``coop:<id>:pending``) and payable (``coop:<id>:available``), the platform's commission,
its bank account (payouts leave from it), payments for orders that were already cancelled
(``platform:unapplied``, refunded in full) and pre-sale deposits whose balance is still owed
(``platform:presale_deposits``: the buyer's money until the balance comes or it is refunded;
see ``farmgate.ledger.deposits``).
"""
