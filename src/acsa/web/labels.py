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
         "claim.overdue": N_("Overdue")}
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
           "": N_("The action was refused.")}
CLAIM_STATE = {"open": N_("open"), "settled": N_("settled"),
               "converted": N_("converted to cash")}
SETTLEMENT = {"payment": N_("Payment"), "return": N_("Return in kind"),
              "exchange": N_("Equal-value exchange"), "offset": N_("Offset"),
              "conversion": N_("Converted to cash")}
DISCREPANCY = {"short": N_("short"), "over": N_("over"), "damaged": N_("damaged")}
CEILING_PART = {"supplies": N_("Supplies"), "services": N_("Services"), "total": N_("Total")}

TABLES = {"role": ROLE, "action": ACTION, "done": DONE, "event": EVENT, "work": WORK,
          "refusal": REFUSAL, "claim_state": CLAIM_STATE, "settlement": SETTLEMENT,
          "discrepancy": DISCREPANCY, "part": CEILING_PART}
