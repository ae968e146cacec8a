"""Initial schema: agreements, parties, officials, activities, orders, claims, books, audit.

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 04:33:31.278314
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('code', name=op.f('uq_activities_code'))
    )
    op.create_table('agreements',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('version', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agreements'))
    )
    op.create_table('audit_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', sa.String(length=40), nullable=False),
    sa.Column('party', sa.String(length=3), nullable=False),
    sa.Column('actor', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('order_hash', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_subject'), ['subject'], unique=False)

    op.create_table('documents',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_documents'))
    )
    op.create_table('parties',
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('force', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('billing_address', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_parties'))
    )
    op.create_table('activity_agreements',
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agreement_code', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_activity_agreements_activity_id_activities')),
    sa.ForeignKeyConstraint(['agreement_code'], ['agreements.code'], name=op.f('fk_activity_agreements_agreement_code_agreements')),
    sa.PrimaryKeyConstraint('activity_id', 'agreement_code', name=op.f('pk_activity_agreements'))
    )
    op.create_table('order_counters',
    sa.Column('agreement_code', sa.String(length=12), nullable=False),
    sa.Column('party_code', sa.String(length=3), nullable=False),
    sa.Column('fiscal_year', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['agreement_code'], ['agreements.code'], name=op.f('fk_order_counters_agreement_code_agreements')),
    sa.PrimaryKeyConstraint('agreement_code', 'party_code', 'fiscal_year', name=op.f('pk_order_counters'))
    )
    op.create_table('rates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('base', sa.String(length=3), nullable=False),
    sa.Column('quote', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.String(length=40), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('agreement_code', sa.String(length=12), nullable=True),
    sa.Column('fiscal_year', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_code'], ['agreements.code'], name=op.f('fk_rates_agreement_code_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rates'))
    )
    with op.batch_alter_table('rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rates_effective_on'), ['effective_on'], unique=False)

    op.create_table('units',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('party_code', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['party_code'], ['parties.code'], name=op.f('fk_units_party_code_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('code', name=op.f('uq_units_code'))
    )
    op.create_table('officials',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('person', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rank_title', sa.String(length=120), nullable=False),
    sa.Column('party_code', sa.String(length=3), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('limit_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('limit_currency', sa.String(length=3), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['party_code'], ['parties.code'], name=op.f('fk_officials_party_code_parties')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_officials_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officials')),
    sa.UniqueConstraint('code', name=op.f('uq_officials_code'))
    )
    op.create_table('offsets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('agreement_code', sa.String(length=12), nullable=False),
    sa.Column('proposing_party', sa.String(length=3), nullable=False),
    sa.Column('approving_party', sa.String(length=3), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('offset_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('proposed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('approved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_code'], ['agreements.code'], name=op.f('fk_offsets_agreement_code_agreements')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['officials.id'], name=op.f('fk_offsets_approved_by_id_officials')),
    sa.ForeignKeyConstraint(['approving_party'], ['parties.code'], name=op.f('fk_offsets_approving_party_parties')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['officials.id'], name=op.f('fk_offsets_proposed_by_id_officials')),
    sa.ForeignKeyConstraint(['proposing_party'], ['parties.code'], name=op.f('fk_offsets_proposing_party_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offsets')),
    sa.UniqueConstraint('number', name=op.f('uq_offsets_number'))
    )
    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('agreement_code', sa.String(length=12), nullable=False),
    sa.Column('agreement_version', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('implementing_arrangement', sa.String(length=200), nullable=False),
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fiscal_year', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requesting_party', sa.String(length=3), nullable=False),
    sa.Column('supplying_party', sa.String(length=3), nullable=False),
    sa.Column('requesting_unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('supplying_unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('order_on', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('delivery_place', sa.String(length=300), nullable=False),
    sa.Column('delivery_on', sa.Date(), nullable=True),
    sa.Column('fund_citation', sa.String(length=300), nullable=False),
    sa.Column('billing_address', sa.String(length=500), nullable=False),
    sa.Column('requester_poc', sa.String(length=300), nullable=False),
    sa.Column('supplier_poc', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('state_before_dispute', sa.String(length=20), nullable=True),
    sa.Column('dispute_reason', sa.Text(), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('requested_hash', sa.String(length=64), nullable=True),
    sa.Column('accepted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_hash', sa.String(length=64), nullable=True),
    sa.Column('closed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('ceiling_currency', sa.String(length=3), nullable=True),
    sa.Column('ceiling_supplies_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ceiling_services_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('version', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['officials.id'], name=op.f('fk_orders_accepted_by_id_officials')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_orders_activity_id_activities')),
    sa.ForeignKeyConstraint(['agreement_code'], ['agreements.code'], name=op.f('fk_orders_agreement_code_agreements')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['officials.id'], name=op.f('fk_orders_closed_by_id_officials')),
    sa.ForeignKeyConstraint(['created_by_id'], ['officials.id'], name=op.f('fk_orders_created_by_id_officials')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['officials.id'], name=op.f('fk_orders_requested_by_id_officials')),
    sa.ForeignKeyConstraint(['requesting_party'], ['parties.code'], name=op.f('fk_orders_requesting_party_parties')),
    sa.ForeignKeyConstraint(['requesting_unit_id'], ['units.id'], name=op.f('fk_orders_requesting_unit_id_units')),
    sa.ForeignKeyConstraint(['supplying_party'], ['parties.code'], name=op.f('fk_orders_supplying_party_parties')),
    sa.ForeignKeyConstraint(['supplying_unit_id'], ['units.id'], name=op.f('fk_orders_supplying_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_orders_number'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_agreement_code'), ['agreement_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_state'), ['state'], unique=False)

    op.create_table('order_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_no', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('stock_number', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('unit_price_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines')),
    sa.UniqueConstraint('order_id', 'line_no', name=op.f('uq_order_lines_order_id'))
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_lines_category'), ['category'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('received_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_receipts_order_id_orders')),
    sa.ForeignKeyConstraint(['received_by_id'], ['officials.id'], name=op.f('fk_receipts_received_by_id_officials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_order_id'), ['order_id'], unique=False)

    op.create_table('claims',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receipt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('converted_from_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agreement_code', sa.String(length=12), nullable=False),
    sa.Column('method', sa.String(length=5), nullable=False),
    sa.Column('creditor_party', sa.String(length=3), nullable=False),
    sa.Column('debtor_party', sa.String(length=3), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quantity', sa.String(length=40), nullable=True),
    sa.Column('unit', sa.String(length=30), nullable=True),
    sa.Column('item', sa.String(length=300), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('stock_number', sa.String(length=40), nullable=False),
    sa.Column('commodity', sa.String(length=80), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['agreement_code'], ['agreements.code'], name=op.f('fk_claims_agreement_code_agreements')),
    sa.ForeignKeyConstraint(['converted_from_id'], ['claims.id'], name=op.f('fk_claims_converted_from_id_claims')),
    sa.ForeignKeyConstraint(['creditor_party'], ['parties.code'], name=op.f('fk_claims_creditor_party_parties')),
    sa.ForeignKeyConstraint(['debtor_party'], ['parties.code'], name=op.f('fk_claims_debtor_party_parties')),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_claims_line_id_order_lines')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_claims_order_id_orders')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_claims_receipt_id_receipts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims')),
    sa.UniqueConstraint('number', name=op.f('uq_claims_number'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_agreement_code'), ['agreement_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_state'), ['state'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('delivered_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('receipt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['delivered_by_id'], ['officials.id'], name=op.f('fk_deliveries_delivered_by_id_officials')),
    sa.ForeignKeyConstraint(['document_sha256'], ['documents.sha256'], name=op.f('fk_deliveries_document_sha256_documents')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_deliveries_order_id_orders')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_deliveries_receipt_id_receipts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_order_id'), ['order_id'], unique=False)

    op.create_table('receipt_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('receipt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delivered', sa.String(length=40), nullable=False),
    sa.Column('received', sa.String(length=40), nullable=False),
    sa.Column('damaged', sa.String(length=40), nullable=False),
    sa.Column('discrepancy', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_receipt_lines_line_id_order_lines')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_receipt_lines_receipt_id_receipts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_lines'))
    )
    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_lines_receipt_id'), ['receipt_id'], unique=False)

    op.create_table('delivery_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quantity', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_delivery_lines_delivery_id_deliveries')),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_delivery_lines_line_id_order_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_lines'))
    )
    with op.batch_alter_table('delivery_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_lines_delivery_id'), ['delivery_id'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('agreement_code', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('posted_on', sa.Date(), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reverses_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('memo', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_ledger_entries_claim_id_claims')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_ledger_entries_order_id_orders')),
    sa.ForeignKeyConstraint(['reverses_id'], ['ledger_entries.id'], name=op.f('fk_ledger_entries_reverses_id_ledger_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    op.create_table('offset_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('offset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('applied_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('value_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rate', sa.String(length=40), nullable=False),
    sa.Column('rate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_offset_items_claim_id_claims')),
    sa.ForeignKeyConstraint(['offset_id'], ['offsets.id'], name=op.f('fk_offset_items_offset_id_offsets')),
    sa.ForeignKeyConstraint(['rate_id'], ['rates.id'], name=op.f('fk_offset_items_rate_id_rates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offset_items'))
    )
    with op.batch_alter_table('offset_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offset_items_offset_id'), ['offset_id'], unique=False)

    op.create_table('settlements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('settled_on', sa.Date(), nullable=False),
    sa.Column('applied_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('applied_quantity', sa.String(length=40), nullable=True),
    sa.Column('tendered_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('tendered_currency', sa.String(length=3), nullable=True),
    sa.Column('tendered_quantity', sa.String(length=40), nullable=True),
    sa.Column('tendered_unit', sa.String(length=30), nullable=True),
    sa.Column('rate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('rate', sa.String(length=40), nullable=True),
    sa.Column('reference', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('offset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_settlements_claim_id_claims')),
    sa.ForeignKeyConstraint(['offset_id'], ['offsets.id'], name=op.f('fk_settlements_offset_id_offsets')),
    sa.ForeignKeyConstraint(['rate_id'], ['rates.id'], name=op.f('fk_settlements_rate_id_rates')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['officials.id'], name=op.f('fk_settlements_recorded_by_id_officials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlements'))
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlements_claim_id'), ['claim_id'], unique=False)

    op.create_table('ledger_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('book', sa.String(length=3), nullable=False),
    sa.Column('account', sa.String(length=60), nullable=False),
    sa.Column('counterparty', sa.String(length=3), nullable=False),
    sa.Column('commodity', sa.String(length=80), nullable=False),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('posted_on', sa.Date(), nullable=False),
    sa.Column('fiscal_year', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agreement_code', sa.String(length=12), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_ledger_lines_entry_id_ledger_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_lines'))
    )
    with op.batch_alter_table('ledger_lines', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_lines_book_account', ['book', 'account', 'counterparty'], unique=False)
        batch_op.create_index('ix_ledger_lines_claim', ['claim_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_lines_claim')
        batch_op.drop_index('ix_ledger_lines_book_account')

    op.drop_table('ledger_lines')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlements_claim_id'))

    op.drop_table('settlements')
    with op.batch_alter_table('offset_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offset_items_offset_id'))

    op.drop_table('offset_items')
    op.drop_table('ledger_entries')
    with op.batch_alter_table('delivery_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_lines_delivery_id'))

    op.drop_table('delivery_lines')
    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipt_lines_receipt_id'))

    op.drop_table('receipt_lines')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_order_id'))

    op.drop_table('deliveries')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claims_state'))
        batch_op.drop_index(batch_op.f('ix_claims_order_id'))
        batch_op.drop_index(batch_op.f('ix_claims_due_on'))
        batch_op.drop_index(batch_op.f('ix_claims_agreement_code'))

    op.drop_table('claims')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_order_id'))

    op.drop_table('receipts')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_lines_category'))

    op.drop_table('order_lines')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_state'))
        batch_op.drop_index(batch_op.f('ix_orders_agreement_code'))
        batch_op.drop_index(batch_op.f('ix_orders_activity_id'))

    op.drop_table('orders')
    op.drop_table('offsets')
    op.drop_table('officials')
    op.drop_table('units')
    with op.batch_alter_table('rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rates_effective_on'))

    op.drop_table('rates')
    op.drop_table('order_counters')
    op.drop_table('activity_agreements')
    op.drop_table('parties')
    op.drop_table('documents')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_subject'))

    op.drop_table('audit_events')
    op.drop_table('agreements')
    op.drop_table('activities')
