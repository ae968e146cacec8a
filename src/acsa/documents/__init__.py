"""Documents, reports and bulk data: the bilingual order and receipt form, claim notices,
payment receipts, offset documents, statements and reports as PDF and xlsx, audit packs,
and bulk import and export of orders."""
