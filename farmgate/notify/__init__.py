"""Telling buyers what happened to their orders: paid, shipped, delivered, the refund answer,
and a recall of something they bought.

``service`` records one ``Notification`` per (order, kind, ref) inside the transaction of the
event and queues ``notify.send`` through the outbox, so a step that runs twice still sends
once. ``tasks`` picks the channel when the job runs: a WeChat template message when the order
(or its account) has an openid and the kind's template is configured, an SMS to the order's
phone otherwise. Buyers can turn notifications off (``service.set_opt_out``), except recalls:
a recall is a food-safety notice and always goes out.
"""
