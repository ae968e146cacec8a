"""A refusal as a page says it, in English, Japanese or Filipino.

Every error class of acsa (the subclasses of `errors.AcsaError`, wherever defined) has an entry
in `ENTRIES`, by class name: English sentences with named placeholders, the most specific
first, and a hint. The first sentence whose placeholders are all known is used, the values
coming from the error's structured data (`details` and `field`), so a raise site that gives
fewer details still reads well. Each value is formatted for the language by what its name
says (`FORMATS`: a date, an amount, a category, a role...). The words are marked with `N_` for
the catalogs and translated when shown; their Japanese and Filipino are in
`locales/{ja,fil}/LC_MESSAGES/errors.po`.

A class without an entry gets no sentence: the page shows the lead-in of its kind and the
service's English message (tests/web/test_error_i18n.py fails for such a class).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from acsa import errors
from acsa.documents import labels as doc_labels
from acsa.web import i18n
from acsa.web import labels as web_labels
from acsa.web.labels import N_

Values = dict[str, Any]
Variant = str | Callable[[Values], str | None]  # a msgid, or one chosen from the values


@dataclass(frozen=True)
class Entry:
    sentences: tuple[Variant, ...]
    hint: Variant | None = None


def _entry(*sentences: Variant, hint: Variant | None = None) -> Entry:
    return Entry(sentences, hint)


# --- the words values are said with ----------------------------------------------------------
TASK = {"create an order": N_("create an order"), "edit an order": N_("edit an order"),
        "request an order": N_("request an order"), "accept an order": N_("accept an order"),
        "record a delivery": N_("record a delivery"),
        "receive a delivery": N_("receive a delivery"),
        "cancel an order": N_("cancel an order"), "dispute an order": N_("dispute an order"),
        "resolve a dispute": N_("resolve a dispute"), "close an order": N_("close an order"),
        "pay a bill": N_("pay a bill"), "return items in kind": N_("return items in kind"),
        "provide an equal-value exchange": N_("provide an equal-value exchange"),
        "propose an offset": N_("propose an offset"),
        "approve an offset": N_("approve an offset"),
        "withdraw an offset": N_("withdraw an offset"), "import orders": N_("import orders")}
# orders.domain's actions, as the steps of an order are named on its page
STEP = {**web_labels.ACTION, "edit": N_("Edit the draft"), "settle": N_("Settle a claim")}
# orders.domain.HOW_TO_GET_THERE
HOW_TO = {
    "request": N_("Only a draft can be requested."),
    "accept": N_("An order must be requested before it is accepted."),
    "deliver": N_("An order must be accepted before anything is delivered against it."),
    "receive": N_("Record a delivery first; only delivered quantities can be received."),
    "settle": N_("A claim exists only once a receipt is recorded."),
    "close": N_("Settle every claim first; closing needs a settled order."),
    "cancel": N_("An order can be cancelled only before anything is delivered."),
    "dispute": N_("A draft, closed or cancelled order cannot be disputed."),
    "resolve": N_("Only a disputed order can be resolved."),
    "edit": N_("Only a draft can be changed; after it is requested, changes need a new order."),
}
# a form's fields, as the forms label them (a service's `field`)
FIELDS = {
    "agreement": N_("Agreement"), "activity": N_("Activity"), "order_on": N_("Order date"),
    "delivery_on": N_("Delivery or service date"), "currency": N_("Currency"),
    "category": N_("Category"), "method": N_("Settlement method"),
    "quantity": N_("Quantity"), "unit": N_("Unit of measure"), "unit_price": N_("Unit price"),
    "description": N_("Description"), "stock_number": N_("Stock number"),
    "requesting_unit": N_("Requesting unit"), "supplying_unit": N_("Supplying unit"),
    "requester_poc": N_("Requester point of contact"),
    "supplier_poc": N_("Supplier point of contact"),
    "delivery_place": N_("Place of delivery"), "fund_citation": N_("Fund citation (internal)"),
    "billing_address": N_("Billing address"),
    "implementing_arrangement": N_("Implementing arrangement"),
    "notes": N_("Notes (internal)"), "amount": N_("Amount"), "value": N_("Value"),
    "reason": N_("Reason"), "resolution": N_("Agreed resolution"),
    "received": N_("Received"), "damaged": N_("Damaged"), "line": N_("Line"),
    "lines": N_("Lines"), "document": N_("Source document"), "reference": N_("Reference"),
    "by": N_("Signing official"), "order": N_("Order"), "claim": N_("Claim"),
    "rate": N_("Exchange rate"), "username": N_("Username"), "password": N_("Password"),
    "deliveries": N_("Deliveries"), "number": N_("Number"),
}
LINE_FIELD = re.compile(r"lines\[(\d+)\]\.(\w+)")


def _tr(lang: str, message: str) -> str:
    return i18n.translations(lang).gettext(message)


def _listed(items: Iterable[str], lang: str) -> str:
    return ("、" if lang == "ja" else ", ").join(items)


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def _plain(value: Any, lang: str) -> str:
    return _listed((str(v) for v in _items(value)), lang)


def _date(value: Any, lang: str) -> str:
    return i18n.fmt_date(str(value), lang)


def _money(value: Any, lang: str) -> str:
    return i18n.money_text(str(value), lang)


def _number(value: Any, lang: str) -> str:
    out = []
    for v in _items(value):
        try:
            out.append(i18n.fmt_number(str(v), lang))
        except Exception:  # noqa: BLE001 - a value that is not a number is said as it is
            out.append(str(v))
    return _listed(out, lang)


def _words(table: dict[str, str]) -> Callable[[Any, str], str]:
    def say(value: Any, lang: str) -> str:
        return _listed((_tr(lang, table[str(v)]) if str(v) in table else str(v)
                        for v in _items(value)), lang)
    return say


def _labels(table: dict[str, dict[str, str]]) -> Callable[[Any, str], str]:
    def say(value: Any, lang: str) -> str:
        return _listed((doc_labels.label(table, str(v), lang) for v in _items(value)), lang)
    return say


def _either(value: Any, lang: str) -> str:
    """Roles, each in the language and quoted, joined by 'or'."""
    names = [_tr(lang, N_("“%(name)s”")) % {
        "name": _tr(lang, web_labels.ROLE[str(v)]) if str(v) in web_labels.ROLE else str(v)}
        for v in _items(value)]
    text = names[0] if names else ""
    for name in names[1:]:
        text = _tr(lang, N_("%(a)s or %(b)s")) % {"a": text, "b": name}
    return text


def _task(value: Any, lang: str) -> str | None:
    phrase = TASK.get(str(value))
    return _tr(lang, phrase) if phrase else None  # an unknown phrase: a sentence without it


def _step(value: Any, lang: str) -> str | None:
    name = STEP.get(str(value))
    return _tr(lang, name) if name else None


# detail name -> how its value is said; a name not here is said as it is
FORMATS: dict[str, Callable[[Any, str], str | None]] = {
    **dict.fromkeys(("on", "in_force_on", "ended_on", "valid_from", "valid_to"), _date),
    **dict.fromkeys(("limit", "value", "used", "ceiling", "outstanding"), _money),
    **dict.fromkeys(("line", "lines", "quantity", "total", "ordered", "received",
                     "delivered", "retry_after", "version"), _number),
    "category": _labels(doc_labels.CATEGORIES), "categories": _labels(doc_labels.CATEGORIES),
    "method": _labels(doc_labels.METHODS), "methods": _labels(doc_labels.METHODS),
    "kind": _labels(doc_labels.KINDS), "state": _labels(doc_labels.STATES),
    **dict.fromkeys(("party", "acts_for", "belongs_to", "proposing_party", "approving_party"),
                    _labels(doc_labels.PARTIES)),
    "offset_state": _words({"proposed": N_("proposed"), "approved": N_("approved"),
                            "withdrawn": N_("withdrawn")}),
    "activity_type": _words(web_labels.ACTIVITY_TYPE),
    "activity_types": _words(web_labels.ACTIVITY_TYPE),
    "role": _words(web_labels.ROLE), "roles": _either,
    "missing": _words(web_labels.ELEMENT), "part": _words(web_labels.CEILING_PART),
    "claim_state": _words(web_labels.CLAIM_STATE),
    "task": _task, "action": _step,
}


# --- what each refusal says --------------------------------------------------------------------
def _by_stage(values: Values) -> str | None:
    return {"request": N_("Order %(number)s cannot be requested yet; these required data "
                          "elements are missing: %(missing)s."),
            "accept": N_("Order %(number)s cannot be accepted yet; these required data "
                         "elements are missing: %(missing)s.")}.get(values.get("stage", ""))


def _separation(values: Values) -> str | None:
    return {"requested": N_("%(person)s requested order %(number)s and so may not also "
                            "accept it."),
            "proposed": N_("%(person)s proposed offset %(number)s and so may not also "
                           "approve it."),
            "signed the receipt of": N_("%(person)s signed the receipt of %(number)s and so "
                                        "may not also settle its claim."),
            }.get(values.get("first_act", ""))


def _how_to(values: Values) -> str | None:
    return HOW_TO.get(values.get("action", ""))


def _in_force_hint(values: Values) -> str:
    if values.get("in_force_on"):
        return N_("Date the order on or after the entry-into-force date.")
    return N_("When the agreement enters into force, an administrator loads the amendment "
              "that gives its date.")


def _ammunition_hint(values: Values) -> str:
    if values.get("activity_types"):
        return N_("Remove the ammunition line or order it under an eligible activity.")
    return N_("Remove the ammunition line; it cannot be provided under this agreement.")


def _unit_hint(values: Values) -> str:
    if str(values.get("field") or "").endswith("unit"):
        return N_("Use a unit such as L, gal, kg, t, each, h, day.")
    return N_("Quantities are positive numbers with a unit, e.g. 50000 L or 12 each.")


def _settlement_hint(values: Values) -> str | None:
    if values.get("claim_state"):
        return N_("Only an open claim can be settled.")
    if values.get("outstanding") or values.get("outstanding_quantity"):
        return N_("Settle at most what is outstanding.")
    return None


def _offset_hint(values: Values) -> str:
    if values.get("offset") and values.get("proposing_party"):
        return N_("A finance official of %(proposing_party)s may withdraw offset %(offset)s; "
                  "otherwise wait until it is approved.")
    return N_("Withdraw the offset first, or wait until it is approved.")


def _authority_hint(values: Values) -> str | None:
    if values.get("official") and values.get("acts_for"):
        return N_("Have an official of %(party)s sign.")
    return None


ENTRIES: dict[str, Entry] = {
    # --- input
    "InvalidInput": _entry(N_("The value given for “%(field)s” cannot be used."),
                           N_("A value given cannot be used."),
                           hint=N_("Correct the value, then send the form again.")),
    "InvalidAmount": _entry(
        N_("The amount given for “%(field)s” is not a valid amount."),
        N_("An amount given is not a valid amount."),
        hint=N_("Write amounts as plain numbers with at most the currency's decimals, "
                "e.g. 1250.50.")),
    "UnknownCurrency": _entry(N_("“%(currency)s” is not a currency the system knows."),
                              N_("The currency given is not one the system knows."),
                              hint=N_("Use an ISO 4217 code such as JPY, PHP or USD.")),
    "CurrencyMismatch": _entry(
        N_("Amounts in %(currency)s and %(other_currency)s cannot be combined without an "
           "exchange rate."),
        N_("Amounts in two currencies cannot be combined without an exchange rate."),
        hint=N_("Convert one amount first with a recorded exchange rate.")),
    "InvalidQuantity": _entry(N_("The quantity or unit given for “%(field)s” cannot be used."),
                              N_("A quantity or unit given cannot be used."), hint=_unit_hint),
    "IncompatibleUnits": _entry(
        N_("The two units measure different kinds of quantity: one cannot be converted into "
           "the other."),
        hint=N_("Return the same kind of item counted in a unit of the same dimension.")),
    "AgreementFileInvalid": _entry(
        N_("The agreement file is not valid."),
        hint=N_("Fix the named field in the agreement file and load it again.")),
    "ImportFileInvalid": _entry(N_("The file cannot be read as an import file."),
                                hint=N_("Start from the import template (CSV or XLSX).")),
    "PackUnreadable": _entry(N_("The file is not an audit pack that can be opened."),
                             hint=N_("Give the .zip of an audit pack as it was downloaded.")),
    "FieldErrors": _entry(N_("Some fields of the form cannot be used; each one is marked."),
                          hint=N_("Correct each field named, then send the form again.")),
    # --- lookups
    "NotFound": _entry(N_("Nothing was found for “%(field)s”: it does not exist, or it is not "
                          "one of your party's."),
                       N_("It was not found: it does not exist, or it is not one of your "
                          "party's.")),
    "DocumentNotRecognised": _entry(
        N_("This copy names no document in these books: it was not printed from them, or it "
           "was altered.")),
    "KeyMissing": _entry(N_("This node has no signing key yet."),
                         hint=N_("An administrator creates it once with `acsa keys init`.")),
    "AlreadyExists": _entry(N_("“%(field)s”: one with this value already exists."),
                            N_("It already exists.")),
    "StaleVersion": _entry(
        N_("Order %(number)s was changed after you opened it (it is now at version "
           "%(version)s)."),
        N_("This was changed after you opened it."),
        hint=N_("Show it again and repeat the step if it is still right.")),
    "RateMissing": _entry(
        N_("No %(agreement)s fiscal-year %(fiscal_year)s rate for %(base)s/%(quote)s is "
           "recorded."),
        N_("No market rate for %(base)s/%(quote)s on or before %(on)s is recorded."),
        N_("The amount cannot be converted: no exchange rate applies yet."),
        hint=N_("Record the exchange rate (page Rates, or `acsa rates add`), then try again.")),
    # --- agreement rules
    "AgreementNotInForce": _entry(
        N_("Agreement %(agreement)s enters into force on %(in_force_on)s; %(on)s is before "
           "that."),
        N_("Agreement %(agreement)s has no known entry-into-force date, so no order can be "
           "placed under it yet."),
        N_("The agreement is not in force."), hint=_in_force_hint),
    "AgreementExpired": _entry(
        N_("Agreement %(agreement)s expired on %(ended_on)s; %(on)s is after that."),
        N_("The agreement has expired."),
        hint=N_("Use an agreement in force, or load the amendment that extends it.")),
    "ActivityNotEligible": _entry(
        N_("Activities of the type “%(activity_type)s” are not eligible under %(agreement)s."),
        N_("This type of activity is not eligible under the agreement."),
        hint=N_("Eligible types: %(activity_types)s.")),
    "ActivityNotCovered": _entry(
        N_("Activity %(activity)s does not run under %(agreement)s."),
        N_("The activity does not run under this agreement."),
        hint=N_("It runs under %(agreements)s.")),
    "CategoryNotEligible": _entry(
        N_("The category “%(category)s” is not eligible under %(agreement)s."),
        N_("“%(category)s” is not an ACSA category."),
        N_("The category is not eligible under the agreement."),
        hint=N_("Eligible categories: %(categories)s.")),
    "WeaponsExcluded": _entry(
        N_("Weapons are excluded from every ACSA, including %(agreement)s."),
        N_("Weapons are excluded from every ACSA."),
        hint=N_("Weapons can never be provided under an ACSA; remove the line.")),
    "AmmunitionNotAllowed": _entry(
        N_("%(agreement)s allows ammunition only for %(activity_types)s, not for "
           "“%(activity_type)s”."),
        N_("%(agreement)s does not allow ammunition."),
        N_("The agreement does not allow ammunition here."), hint=_ammunition_hint),
    "MethodNotAllowed": _entry(
        N_("Under %(agreement)s, “%(kind)s” cannot be settled by “%(method)s”."),
        N_("This settlement method is not allowed for this category."),
        hint=N_("Allowed for “%(kind)s”: %(methods)s.")),
    "CeilingExceeded": _entry(
        N_("Accepting %(order)s would bring %(party)s's acquisitions for the fiscal year "
           "(%(part)s) under %(agreement)s to %(used)s, above the ceiling of %(ceiling)s."),
        N_("Accepting this order would go above a ceiling of the agreement."),
        hint=N_("Settle or cancel other orders, or split the support across fiscal years.")),
    # --- officials
    "OfficialNotAuthorized": _entry(N_("The official acting may not take this step.")),
    "Forbidden": _entry(N_("Your account may not do this.")),
    "WrongRole": _entry(
        N_("The role of %(official)s is “%(role)s”, but only %(roles)s may %(task)s."),
        N_("The role of %(official)s is “%(role)s”, but this step needs %(roles)s."),
        N_("The official acting does not have the role this step needs."),
        hint=N_("Have an official of %(party)s with the role %(roles)s sign.")),
    "WrongParty": _entry(
        N_("%(official)s acts for %(acts_for)s, but only an official of %(party)s may "
           "%(task)s here."),
        N_("%(official)s acts for %(acts_for)s, but this step needs an official of %(party)s."),
        N_("Unit %(unit)s belongs to %(belongs_to)s, not %(party)s."),
        N_("%(party)s is not a party to %(agreement)s."),
        N_("“%(field)s” belongs to another party, or to no party of this agreement."),
        N_("This belongs to another party, or to no party of this agreement."),
        hint=_authority_hint),
    "AuthorityNotValid": _entry(
        N_("%(official)s's authority runs from %(valid_from)s to %(valid_to)s, not on %(on)s."),
        N_("%(official)s's authority runs from %(valid_from)s, not on %(on)s."),
        N_("The official's authority is not valid on this date."),
        hint=N_("Renew the official's delegation or name another official.")),
    "ValueLimitExceeded": _entry(
        N_("%(official)s may sign up to %(limit)s; this order is worth %(value)s."),
        N_("The order is worth more than the official's delegated limit."),
        hint=N_("Have an official with a higher delegated limit sign, or split the order.")),
    "SeparationOfDuties": _entry(
        _separation,
        N_("The same person may not take both steps: the duties are kept separate."),
        hint=N_("Another person must take this step.")),
    # --- order lifecycle
    "InvalidTransition": _entry(
        N_("“%(action)s” is not possible for order %(number)s while it is “%(state)s”."),
        N_("This step is not possible for order %(number)s as it stands."),
        N_("This step is not possible as things stand."), hint=_how_to),
    "OrderClosed": _entry(
        N_("Order %(number)s is closed; it can no longer be changed."),
        N_("The order is closed; it can no longer be changed."),
        hint=N_("A closed order cannot change; record a correction on a new order.")),
    "MissingDataElements": _entry(
        _by_stage,
        N_("Required data elements are missing: %(missing)s."),
        N_("Required data elements are missing."),
        hint=N_("Fill them in on the draft; the supplying unit and point of contact are given "
                "when the order is accepted.")),
    "OverReceiptWithoutReason": _entry(
        N_("Line %(line)s: %(received)s received is more than the %(delivered)s delivered, "
           "and no reason was given."),
        N_("More was received than delivered, and no reason was given."),
        hint=N_("Give the reason for the over quantity.")),
    "DeliveryExceedsOrder": _entry(
        N_("Line %(line)s: delivering %(quantity)s would bring the total delivered to "
           "%(total)s, above the %(ordered)s ordered."),
        N_("This would deliver more than was ordered."),
        hint=N_("Deliver at most the ordered quantity, or amend the order.")),
    "SourceDocumentMissing": _entry(
        N_("Order %(number)s cannot be closed: line(s) %(lines)s have no source document."),
        N_("A source document is missing."),
        hint=N_("Attach the signed source document to each delivery.")),
    "NotTiedOut": _entry(
        N_("Order %(number)s does not tie out yet: a delivery is not received or a claim is "
           "not settled."),
        N_("The order does not tie out yet."),
        hint=N_("Receive every delivery and settle every claim first.")),
    "SettlementInvalid": _entry(
        N_("Claim %(claim)s is “%(claim_state)s”."),
        N_("This is more than the %(outstanding)s outstanding on claim %(claim)s."),
        N_("This is more than the %(outstanding_quantity)s outstanding on claim %(claim)s."),
        N_("Claim %(claim)s is settled by “%(method)s”, not this way."),
        N_("This does not match claim %(claim)s."),
        N_("This settlement cannot be recorded as given."), hint=_settlement_hint),
    "OffsetNotProposed": _entry(
        N_("Offset %(offset)s is “%(offset_state)s”: only an offset awaiting approval can be "
           "withdrawn."),
        N_("Only an offset awaiting approval can be withdrawn."),
        hint=N_("Nothing was changed; show the offset again to see its state.")),
    "ClaimInProposedOffset": _entry(
        N_("Claim %(claim)s is named in offset %(offset)s, which awaits approval by "
           "%(approving_party)s: it cannot be settled another way meanwhile."),
        N_("This claim is named in an offset that awaits approval."),
        hint=_offset_hint),
    # --- stored data and documents
    "IntegrityError": _entry(
        N_("A check of the stored data failed."),
        hint=N_("Report this to the administrators with the details below.")),
    "PackFailed": _entry(
        N_("The audit pack failed its checks: do not rely on it."),
        hint=N_("Ask its producer for a fresh copy and compare the manifest's SHA-256 with "
                "theirs.")),
    "DocumentChanged": _entry(
        N_("The document changed after this copy was printed."),
        hint=N_("Print a new copy, or look at the document's history.")),
    "DocumentTampered": _entry(
        N_("The copy's printed code and its QR code say different things."),
        hint=N_("Do not rely on this copy.")),
    "HashMismatch": _entry(
        N_("Applied here, the partner's event gave the order other contents than at the "
           "partner's node.")),
    # --- two nodes
    "NodePartyNotSet": _entry(
        N_("This node's own party is not set."),
        hint=N_("An administrator sets it once with `acsa init --party CODE`.")),
    "PassphraseWrong": _entry(
        N_("The passphrase of the node's key is wrong."),
        hint=N_("Give the passphrase the key was created with.")),
    "UnknownKey": _entry(
        N_("The data was signed with a key that is not registered for this agreement."),
        hint=N_("Register the partner's public key after checking its fingerprint with the "
                "partner out of band.")),
    "KeyRevoked": _entry(N_("The key was revoked."),
                         hint=N_("Ask the partner for its new key and register it.")),
    "SignatureInvalid": _entry(
        N_("A signature does not match the data."),
        hint=N_("The data was changed after it was signed, or signed by another key; ask for "
                "it again.")),
    "BundleInvalid": _entry(
        N_("The bundle file is damaged, truncated or altered."),
        hint=N_("Ask the partner to export it again.")),
    "BundleNotForUs": _entry(
        N_("This bundle is addressed to another party's node."),
        hint=N_("Import it on the node of the party it is addressed to.")),
    "BundleReplayed": _entry(
        N_("This bundle was already imported."),
        hint=N_("Nothing was changed; export a new bundle for anything newer.")),
    "NodeNotAuthenticated": _entry(
        N_("The request between nodes is not signed with a known node key.")),
    "NotOwner": _entry(
        N_("Only the party that owns this record may make this change."),
        hint=N_("The partner must take this step.")),
    "EventOutOfOrder": _entry(N_("An event arrived before an event it depends on.")),
    # --- people and accounts
    "SignInFailed": _entry(N_("Wrong username or password.")),
    "SignInThrottled": _entry(
        N_("Too many failed sign-ins: wait %(retry_after)s seconds, then try again."),
        N_("Too many failed sign-ins: wait a while, then try again.")),
    "NotSignedIn": _entry(N_("You are not signed in."), hint=N_("Sign in again.")),
    "CsrfFailed": _entry(N_("The form's security token is missing or out of date."),
                         hint=N_("Reload the page and try again.")),
    "TooManySubscriptions": _entry(
        N_("There are too many webhook subscriptions."),
        hint=N_("Deactivate a subscription you no longer use first.")),
    "SubscriptionInactive": _entry(
        N_("This webhook subscription is deactivated."),
        hint=N_("Add a new subscription; a deactivated one stays off.")),
}


# --- saying it ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Said:
    """A refusal in one language. `sentence` is empty for a class without an entry (the page
    then shows the service's English message); `field` is empty when the sentence names it."""

    sentence: str
    hint: str
    field: str


PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def values_of(e: errors.AcsaError) -> Values:
    """The error's structured data: its details and the field it names."""
    return {**e.details, "field": e.field}


def field_name(name: str | None, lang: str) -> str:
    """A service's `field` as the form labels it ('lines[2].unit_price' with its line)."""
    if not name:
        return ""
    m = LINE_FIELD.fullmatch(name)
    if m:
        inner = FIELDS.get(m.group(2))
        return _tr(lang, N_("%(field)s (line %(n)s)")) % {
            "field": _tr(lang, inner) if inner else m.group(2),
            "n": i18n.fmt_number(m.group(1), lang)}
    return _tr(lang, FIELDS[name]) if name in FIELDS else name


def _formatted(values: Values, lang: str) -> dict[str, str]:
    out = {}
    for key, value in values.items():
        if value is None or value == "" or value == [] or key == "field":
            continue
        text = FORMATS.get(key, _plain)(value, lang)
        if text:
            out[key] = text
    if values.get("field"):
        out["field"] = field_name(values["field"], lang)
    return out


def _choose(variant: Variant | None, values: Values, known: dict[str, str]) -> str | None:
    message = variant(values) if callable(variant) else variant
    if message and set(PLACEHOLDER.findall(message)) <= set(known):
        return message
    return None


def say(e: errors.AcsaError, lang: str) -> Said:
    """The refusal `e` in `lang`."""
    entry = ENTRIES.get(type(e).__name__)
    values = values_of(e)
    known = _formatted(values, lang)
    field = known.get("field", "")
    if entry is None:
        return Said("", "", field)
    sentence, message = "", ""
    for variant in entry.sentences:
        message = _choose(variant, values, known) or ""
        if message:
            sentence = _tr(lang, message) % known
            break
    if "%(field)s" in message:
        field = ""  # the sentence names it
    line = LINE_FIELD.fullmatch(e.field or "")
    if line and message and not {"line", "field"} & set(PLACEHOLDER.findall(message)):
        sentence = _tr(lang, N_("Line %(n)s: %(sentence)s")) % {
            "n": i18n.fmt_number(line.group(1), lang), "sentence": sentence}
    hint = _choose(entry.hint, values, known)
    return Said(sentence, _tr(lang, hint) % known if hint else "", field)


def sentences(e: errors.AcsaError) -> dict[str, str]:
    """The refusal's sentence in every language of the web application, the service's English
    message where a class has none: for a figure computed once and shown in any language
    (the dashboard's, cached per ledger head)."""
    return {lang: say(e, lang).sentence or e.message for lang in i18n.LANGS}


def said(e: errors.AcsaError) -> dict[str, dict[str, str]]:
    """The refusal in every language of the web application, for a page's template
    (`said[lang]`)."""
    return {lang: asdict(say(e, lang)) for lang in i18n.LANGS}
