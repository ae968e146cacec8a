"""Two sovereign books (issue #6): the node's settings and keys, the outbox and inbox of signed
events, the bundles seen, the head event of each subject, conflicts and the quarantine.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('node_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('party', sa.String(length=3), nullable=False),
    sa.Column('official_code', sa.String(length=40), nullable=True),
    sa.Column('own', sa.Boolean(), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('private_pem', sa.Text(), nullable=True),
    sa.Column('agreement_code', sa.String(length=20), nullable=True),
    sa.Column('url', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_node_keys')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_node_keys_fingerprint'))
    )
    with op.batch_alter_table('node_keys', schema=None) as batch_op:
        batch_op.create_index('ix_node_keys_party', ['party', 'status'], unique=False)

    op.create_table('node_settings',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_node_settings'))
    )
    op.create_table('sync_bundles',
    sa.Column('bundle_id', sa.String(length=40), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('party', sa.String(length=3), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('events', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bundle_id', name=op.f('pk_sync_bundles'))
    )
    op.create_table('sync_conflicts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('winner', sa.String(length=30), nullable=False),
    sa.Column('loser', sa.String(length=30), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_conflicts'))
    )
    with op.batch_alter_table('sync_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_conflicts_subject'), ['subject'], unique=False)

    op.create_table('sync_heads',
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('event_id', sa.String(length=30), nullable=False),
    sa.PrimaryKeyConstraint('subject', name=op.f('pk_sync_heads'))
    )
    op.create_table('sync_inbox',
    sa.Column('event_id', sa.String(length=30), nullable=False),
    sa.Column('origin', sa.String(length=3), nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('to_party', sa.String(length=3), nullable=False),
    sa.Column('deps', sa.Text(), nullable=False),
    sa.Column('at', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('key_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('bundle_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('waiting_for', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('after', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_sync_inbox'))
    )
    with op.batch_alter_table('sync_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_sync_inbox_status', ['status', 'origin', 'seq'], unique=False)

    op.create_table('sync_outbox',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('to_party', sa.String(length=3), nullable=False),
    sa.Column('deps', sa.Text(), nullable=False),
    sa.Column('at', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('key_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('signature', sa.String(length=128), nullable=True),
    sa.Column('after', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_sync_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_sync_outbox_event_id'))
    )
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_sync_outbox_to', ['to_party', 'seq'], unique=False)

    op.create_table('sync_partners',
    sa.Column('party', sa.String(length=3), nullable=False),
    sa.Column('acked', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('received', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ranges', sa.Text(), nullable=False),
    sa.Column('last_export_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_import_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('party', name=op.f('pk_sync_partners'))
    )
    op.create_table('sync_quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=30), nullable=True),
    sa.Column('origin', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('bundle_id', sa.String(length=40), nullable=False),
    sa.Column('error', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_quarantine'))
    )


def downgrade() -> None:
    op.drop_table('sync_quarantine')
    op.drop_table('sync_partners')
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_outbox_to')

    op.drop_table('sync_outbox')
    with op.batch_alter_table('sync_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_inbox_status')

    op.drop_table('sync_inbox')
    op.drop_table('sync_heads')
    with op.batch_alter_table('sync_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_conflicts_subject'))

    op.drop_table('sync_conflicts')
    op.drop_table('sync_bundles')
    op.drop_table('node_settings')
    with op.batch_alter_table('node_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_node_keys_party')

    op.drop_table('node_keys')
