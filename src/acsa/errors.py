"""Named domain errors.

Every refusal in acsa is one of these classes: it says what was wrong (`message`), how to make
it right (`hint`), which input field it concerns (`field`, where one does) and which kind of
refusal it is (`kind`), from which each front end derives its answer in one place (the CLI an
exit code and a line on stderr, the HTTP API a problem-details document).
"""

from __future__ import annotations

from typing import Any

# kind -> CLI exit code (2 is left to the argument parser for usage errors)
EXIT_CODES = {
    "invalid": 3,  # the input itself is malformed
    "rule": 4,  # the input is well-formed but an ACSA rule forbids it
    "not_found": 5,
    "conflict": 6,  # someone else changed it first, or it already exists
    "forbidden": 7,  # the acting official may not do this
    "integrity": 8,  # stored data failed a check (audit chain, books)
    "unauthenticated": 9,  # sign-in failed
    "throttled": 10,  # too many attempts: wait
}


class AcsaError(Exception):
    kind = "rule"
    hint = ""

    def __init__(self, message: str, *, hint: str | None = None, field: str | None = None,
                 **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        self.field = field
        self.details = details

    @property
    def code(self) -> str:
        return type(self).__name__

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.kind]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "kind": self.kind, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        if self.field:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        return out


# --- input -------------------------------------------------------------------------------
class InvalidInput(AcsaError):
    kind = "invalid"


class InvalidAmount(InvalidInput):
    hint = "Write amounts as plain numbers with at most the currency's decimals, e.g. 1250.50."


class UnknownCurrency(InvalidInput):
    def __init__(self, currency: str) -> None:
        super().__init__(f"unknown currency {currency!r}",
                         hint="Use an ISO 4217 code such as JPY, PHP or USD.", field="currency",
                         currency=currency)


class CurrencyMismatch(InvalidInput):
    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"cannot combine amounts in {a} and {b} without a rate",
                         hint="Convert one amount first with a recorded exchange rate.",
                         currency=a, other_currency=b)


class InvalidQuantity(InvalidInput):
    hint = "Quantities are positive numbers with a unit, e.g. 50000 L or 12 each."


class IncompatibleUnits(InvalidInput):
    hint = "Return the same kind of item counted in a unit of the same dimension."


class AgreementFileInvalid(InvalidInput):
    hint = "Fix the named field in the agreement file and load it again."


# --- lookups -----------------------------------------------------------------------------
class NotFound(AcsaError):
    kind = "not_found"


class AlreadyExists(AcsaError):
    kind = "conflict"


class StaleVersion(AcsaError):
    kind = "conflict"
    hint = "Someone changed this order first: show it again and repeat the command if still right."


class RateMissing(AcsaError):
    hint = "Record the rate with `acsa rates add BASE QUOTE RATE --on DATE --source ...`."


# --- agreement rules ---------------------------------------------------------------------
class AgreementNotInForce(AcsaError):
    pass


class AgreementExpired(AcsaError):
    pass


class ActivityNotEligible(AcsaError):
    pass


class ActivityNotCovered(AcsaError):
    pass


class CategoryNotEligible(AcsaError):
    pass


class WeaponsExcluded(AcsaError):
    hint = "Weapons can never be provided under an ACSA; remove the line."


class AmmunitionNotAllowed(AcsaError):
    pass


class MethodNotAllowed(AcsaError):
    pass


class CeilingExceeded(AcsaError):
    pass


# --- officials ---------------------------------------------------------------------------
class OfficialNotAuthorized(AcsaError):
    kind = "forbidden"


class WrongRole(OfficialNotAuthorized):
    pass


class WrongParty(OfficialNotAuthorized):
    pass


class AuthorityNotValid(OfficialNotAuthorized):
    pass


class ValueLimitExceeded(OfficialNotAuthorized):
    pass


class SeparationOfDuties(OfficialNotAuthorized):
    pass


# --- order lifecycle ---------------------------------------------------------------------
class InvalidTransition(AcsaError):
    pass


class OrderClosed(InvalidTransition):
    hint = "A closed order cannot change; record a correction on a new order."


class MissingDataElements(AcsaError):
    pass


class OverReceiptWithoutReason(AcsaError):
    hint = ("Give the reason for the over quantity: `--reason LINE=WHY` on the command line, "
            "`reason` of the line over HTTP.")


class DeliveryExceedsOrder(AcsaError):
    pass


class SourceDocumentMissing(AcsaError):
    pass


class NotTiedOut(AcsaError):
    pass


class SettlementInvalid(AcsaError):
    pass


class OffsetNotProposed(SettlementInvalid):
    """A step that needs an offset awaiting approval (withdrawing it) on one that is approved or
    already withdrawn."""

    kind = "conflict"
    hint = "Only an offset still awaiting approval can be withdrawn."


class ClaimInProposedOffset(SettlementInvalid):
    """A claim an offset awaiting approval names cannot be settled another way meanwhile."""

    kind = "conflict"


# --- stored data -------------------------------------------------------------------------
class IntegrityError(AcsaError):
    kind = "integrity"


# --- two nodes (sync) --------------------------------------------------------------------
class NodePartyNotSet(InvalidInput):
    hint = "Set this node's own party once with `acsa init --party CODE`."


class KeyMissing(NotFound):
    hint = "Create this node's key with `acsa keys init`."


class PassphraseWrong(AcsaError):
    kind = "unauthenticated"
    hint = "Give the passphrase the key was created with (ACSA_KEY_PASSPHRASE or the prompt)."


class UnknownKey(AcsaError):
    kind = "forbidden"
    hint = ("Register the partner's public key for the agreement with `acsa keys add-partner`, "
            "after checking its fingerprint with the partner out of band.")


class KeyRevoked(UnknownKey):
    hint = "The key was revoked; ask the partner for its new key and register it."


class SignatureInvalid(IntegrityError):
    hint = "The data was changed after it was signed, or signed by another key; ask for it again."


class BundleInvalid(IntegrityError):
    hint = "The file is damaged, truncated or altered; ask the partner to export it again."


class BundleNotForUs(AcsaError):
    kind = "forbidden"
    hint = "Import the bundle on the node of the party it is addressed to."


class BundleReplayed(AcsaError):
    kind = "conflict"
    hint = "Nothing was changed; export a new bundle for anything newer."


class NodeNotAuthenticated(AcsaError):
    kind = "unauthenticated"
    hint = "Requests between nodes are signed with the node key (`acsa sync push/pull`)."


class NotOwner(AcsaError):
    kind = "forbidden"
    hint = "Only the party that owns a fact may author it; the partner must take this step."


class EventOutOfOrder(AcsaError):
    kind = "conflict"
