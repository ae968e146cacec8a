"""Two sovereign books (issue #6): each party runs its own node, signs what it authors, exchanges
signed events with its partners (bundle files or HTTPS) and proves the two books agree.

    node.py       the node's own party (`acsa init --party CODE`)
    keys.py       Ed25519 keys: the node's and officials' (encrypted), partners' (per agreement)
    capture.py    turns each locally authored change into an outbox event (hooked in audit)
    bundle.py     the bundle file: format, signing, verification
    ownership.py  who may author which fact
    apply.py      applies a partner's event through the same services, in its own transaction
    service.py    export, import, status, quarantine
    reconcile.py  compares our book with a partner's (hash summary first, then the details)
    digests.py    the change log (migration 0012): a cached summary recomputes only what changed
    models.py     the tables
See docs/sync.md.
"""
