"""The audit chain: every change as a hash-chained event, written with the change."""
