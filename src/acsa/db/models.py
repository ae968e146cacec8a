"""Imports every table so `Base.metadata` is complete (for Alembic and tests)."""

from acsa.activities.models import Activity, activity_agreements
from acsa.agreements.models import AgreementRecord
from acsa.api.models import IdempotencyKey
from acsa.audit.models import Event
from acsa.db.base import Base
from acsa.ledger.models import Entry, LedgerLine
from acsa.orders.models import (
    Delivery,
    DeliveryLine,
    Document,
    Order,
    OrderCounter,
    OrderLine,
    Receipt,
    ReceiptLine,
)
from acsa.parties.models import Official, Party, Unit
from acsa.rates.models import Rate
from acsa.settlement.models import Claim, Offset, OffsetItem, SettlementRecord
from acsa.sync.digests import ReconcileChange
from acsa.sync.models import (
    BundleSeen,
    Conflict,
    InboxEvent,
    NodeKey,
    NodeSetting,
    OutboxEvent,
    PartnerProgress,
    Quarantined,
    SubjectHead,
)
from acsa.users.models import ApiToken, User, WebSession
from acsa.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "Activity", "AgreementRecord", "Base", "Claim", "Delivery", "DeliveryLine", "Document",
    "Entry", "Event", "LedgerLine", "Official", "Offset", "OffsetItem", "Order", "OrderCounter",
    "OrderLine", "Party", "Rate", "Receipt", "ReceiptLine", "SettlementRecord", "Unit",
    "activity_agreements", "ApiToken", "IdempotencyKey", "User", "WebSession",
    "WebhookAttempt", "WebhookDelivery", "WebhookSubscription", "BundleSeen", "Conflict",
    "InboxEvent", "NodeKey", "NodeSetting", "OutboxEvent", "PartnerProgress", "Quarantined",
    "SubjectHead", "ReconcileChange",
]
