"""The web application's fixed words for codes (roles, actions, events, states of a claim...),
marked for translation with `N_` and translated when shown (`i18n` filters). Category, method,
order-state and party names come from `acsa.documents.labels` instead."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    return message


ROLE = {"requesting": N_("Requesting official"), "approving": N_("Approving official"),
        "supplying": N_("Supplying official"), "receiving": N_("Receiving official"),
        "finance": N_("Finance official"), "auditor": N_("Auditor")}
ACTION = {"request": N_("Request (sign)"), "accept": N_("Accept (sign)"),
          "deliver": N_("Record delivery"), "receive": N_("Record receipt"),
          "cancel": N_("Cancel order"), "dispute": N_("Open a dispute"),
          "resolve": N_("Resolve dispute"), "close": N_("Close order"), "pay": N_("Pay")}
DONE = {"request": N_("The order was requested."),
        "accept": N_("The order was accepted: it is now binding."),
        "deliver": N_("The delivery was recorded."),
        "receive": N_("The receipt was recorded; the claims now exist."),
        "cancel": N_("The order was cancelled."), "dispute": N_("The dispute was opened."),
        "resolve": N_("The dispute was resolved."), "close": N_("The order was closed."),
        "pay": N_("The payment was recorded.")}
EVENT = {"order.created": N_("Created"), "order.edited": N_("Edited"),
         "order.requested": N_("Requested"), "order.accepted": N_("Accepted"),
         "order.delivered": N_("Delivered"), "order.received": N_("Received"),
         "order.settled": N_("Settled"), "order.cancelled": N_("Cancelled"),
         "order.disputed": N_("Dispute opened"),
         "order.dispute_resolved": N_("Dispute resolved"), "order.closed": N_("Closed"),
         "claim.issued": N_("Claim issued"), "claim.payment": N_("Payment"),
         "claim.return": N_("Return in kind"), "claim.exchange": N_("Equal-value exchange"),
         "claim.offset": N_("Offset"), "claim.conversion": N_("Converted to cash"),
         "claim.overdue": N_("Overdue"),
         "agreement.loaded": N_("Agreement loaded"), "agreement.amended": N_("Agreement amended"),
         "activity.added": N_("Activity registered"), "rate.added": N_("Rate recorded"),
         "unit.added": N_("Unit added"), "official.added": N_("Official added"),
         "official.changed": N_("Official changed"),
         "user.added": N_("User added"), "user.disabled": N_("User disabled"),
         "user.enabled": N_("User enabled"), "user.password_reset": N_("Password reset"),
         "offset.proposed": N_("Offset proposed"),
         "offset.approved": N_("Offset approved"),
         "offset.withdrawn": N_("Offset withdrawn"),
         "offset.withdrawal_undone": N_("Offset withdrawal undone")}
WORK = {"to_request": N_("Drafts to request"), "to_accept": N_("Requests to accept"),
        "to_deliver": N_("Accepted orders to deliver"),
        "to_receive": N_("Deliveries to receive"), "to_close": N_("Settled orders to close"),
        "to_pay": N_("Bills to pay"), "to_collect": N_("Bills owed to us, to follow up")}
REFUSAL = {"invalid": N_("A value in the form cannot be used."),
           "rule": N_("An ACSA rule does not allow this."), "not_found": N_("Not found."),
           "conflict": N_("Someone changed this first, or it already exists."),
           "forbidden": N_("You are not authorised to do this."),
           "unauthenticated": N_("Please sign in."),
           "throttled": N_("Too many attempts: please wait."),
           "integrity": N_("A signature or a checksum does not match: nothing was used."),
           "": N_("The action was refused.")}
CLAIM_STATE = {"open": N_("open"), "settled": N_("settled"),
               "converted": N_("converted to cash")}
SETTLEMENT = {"payment": N_("Payment"), "return": N_("Return in kind"),
              "exchange": N_("Equal-value exchange"), "offset": N_("Offset"),
              "conversion": N_("Converted to cash")}
DISCREPANCY = {"short": N_("short"), "over": N_("over"), "damaged": N_("damaged")}
CEILING_PART = {"supplies": N_("Supplies"), "services": N_("Services"), "total": N_("Total")}

DONE.update({"create": N_("The draft order was created. Check it, then request it."),
             "edit": N_("The draft was saved.")})
# the order form's checks (web/order_form.py), each named as a person reads it
RULE = {"authority": N_("You may create orders for your party"),
        "order_on": N_("Order date"), "delivery_on": N_("Delivery or service date"),
        "agreement": N_("The agreement is one of your party's"),
        "in_force": N_("The agreement is in force on the order date"),
        "activity_covered": N_("The activity runs under the agreement"),
        "activity_type": N_("The activity's type is eligible under the agreement"),
        "currency": N_("Currency"),
        "line_category": N_("Category allowed under the agreement for this activity"),
        "line_method": N_("Settlement method allowed for this category"),
        "line_unit": N_("Unit of measure"), "line_quantity": N_("Quantity"),
        "line_price": N_("Unit price"),
        "limit": N_("Value within your delegated limit")}
# orders.domain.DATA_ELEMENTS, by name
ELEMENT = {"order number": N_("order number"), "agreement reference": N_("agreement reference"),
           "order date": N_("order date"), "activity": N_("activity"),
           "requesting party": N_("requesting party"), "supplying party": N_("supplying party"),
           "requesting unit": N_("requesting unit"),
           "requester point of contact": N_("requester point of contact"),
           "place of delivery": N_("place of delivery"),
           "delivery or service date": N_("delivery or service date"),
           "fund citation": N_("fund citation"), "billing address": N_("billing address"),
           "currency": N_("currency"), "at least one line": N_("at least one line"),
           "line category": N_("line category"), "line description": N_("line description"),
           "line stock number (supplies)": N_("line stock number (supplies)"),
           "line quantity": N_("line quantity"), "line unit of measure": N_("line unit of measure"),
           "line unit price": N_("line unit price"),
           "line settlement method": N_("line settlement method"),
           "requesting official's signature": N_("requesting official's signature"),
           "supplying unit": N_("supplying unit"),
           "supplier point of contact": N_("supplier point of contact"),
           "total value": N_("total value")}
# acsa.agreements.domain.ACTIVITY_TYPES
ACTIVITY_TYPE = {"exercise": N_("Bilateral or multilateral exercise"), "training": N_("Training"),
                 "peacekeeping": N_("UN peacekeeping or coordinated peace operation"),
                 "hadr": N_("Humanitarian assistance and disaster relief"),
                 "disaster_response": N_("Large-scale disaster response"),
                 "evacuation": N_("Protection or evacuation of nationals abroad"),
                 "liaison": N_("Liaison and routine activities (port call)"),
                 "other": N_("Other activity each side's law allows")}
RATE_KIND = {"market": N_("market rate on a date"),
             "agreement_fy": N_("fixed for the agreement's fiscal year")}
RATE_POLICY = {"fixed_fiscal_year": N_("a rate fixed for each fiscal year"),
               "rate_on_date": N_("the market rate on the date")}
OFFSET_RULE = {"approved_netting": N_("both sides approve a netting document"),
               "after_months": N_("unpaid credits may also be offset after a number of months")}
OVERDUE_IN_KIND = {"convert_to_cash": N_("converted to a cash debt"),
                   "flag_only": N_("flagged as overdue only")}
# agreement terms (dotted names, as in an agreement file's `unconfirmed`)
TERM = {"in_force_on": N_("In force from"), "signed_on": N_("Signed"),
        "term_years": N_("Term (years)"), "auto_renew": N_("Renews automatically"),
        "ends_on": N_("Ends"), "categories": N_("Categories"),
        "activity_types": N_("Eligible activities"), "ammunition": N_("Ammunition"),
        "ammunition.activity_types": N_("only for these activities"),
        "settlement.supply_methods": N_("Supplies settle by"),
        "settlement.service_methods": N_("Services settle by"),
        "settlement.deadline_months": N_("Months from delivery to settle"),
        "settlement.days_to_pay": N_("Days to pay a cash bill"),
        "settlement.offset": N_("Offsets"),
        "settlement.overdue_in_kind": N_("A return in kind not made in time is"),
        "rates.policy": N_("Exchange rates"), "ceilings": N_("Ceilings"),
        "fiscal_years": N_("Fiscal years")}
AUDIT_RESULT = {"ok": N_("The chain is intact."), "broken": N_("The chain is broken.")}
BUCKET = {"0-30": N_("0-30 days"), "31-90": N_("31-90 days"),
          "91-180": N_("91-180 days"), "181-365": N_("181-365 days"),
          "over 12 months": N_("over 12 months"), "over 18 months": N_("over 18 months")}
DIFFERENCE = {"amount": N_("amount different"), "quantity": N_("quantity different"),
              "state": N_("state different"), "detail": N_("details different"),
              "only_ours": N_("only in our book"), "only_theirs": N_("only in theirs")}

TABLES = {"role": ROLE, "action": ACTION, "done": DONE, "event": EVENT, "work": WORK,
          "refusal": REFUSAL, "claim_state": CLAIM_STATE, "settlement": SETTLEMENT,
          "discrepancy": DISCREPANCY, "part": CEILING_PART, "rule": RULE, "element": ELEMENT,
          "activity_type": ACTIVITY_TYPE, "rate_kind": RATE_KIND, "rate_policy": RATE_POLICY,
          "offset_rule": OFFSET_RULE, "overdue_in_kind": OVERDUE_IN_KIND, "term": TERM,
          "audit_result": AUDIT_RESULT, "bucket": BUCKET, "difference": DIFFERENCE}
