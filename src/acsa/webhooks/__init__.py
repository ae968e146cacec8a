"""Outgoing webhooks: each party's subscriptions, an outbox row per order event written in the
event's own transaction, and a worker that signs and POSTs them with retries and a log."""
