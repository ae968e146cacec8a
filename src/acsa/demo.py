"""The demo story loaded by `acsa init --demo`: a believable year of mutual support.

Everything here goes through the same services a user's commands do. The Philippines-Japan
ACSA's entry into force is not public, so the demo adds an amendment file that ASSUMES it
entered into force on 1 April 2026 (the file says so); remove it and PH-JP orders are refused.
Names, units and amounts are illustrative, not real records.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import config
from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.money import Money
from acsa.orders import service as orders
from acsa.orders.domain import ReceiptLineInput
from acsa.orders.models import Order
from acsa.parties import service as parties
from acsa.rates import service as rates
from acsa.settlement import service as settlement
from acsa.users import service as users
from acsa.users.models import User

# demo users: username -> (party, official or None, administrator?)
USERS = {
    "sato": ("JP", "jp-sato", False), "ito": ("JP", "jp-ito", False),
    "kato": ("JP", "jp-kato", False), "abe": ("JP", "jp-abe", False),
    "fujita": ("JP", "jp-audit", False), "jp-admin": ("JP", None, True),
    "cruz": ("PH", "ph-cruz", False), "reyes": ("PH", "ph-reyes", False),
    "garcia": ("PH", "ph-garcia", False), "santos": ("PH", "ph-santos", False),
    "mendoza": ("PH", "ph-audit", False), "ph-admin": ("PH", None, True),
    "miller": ("US", "us-miller", False), "brooks": ("US", "us-brooks", False),
}
CREDENTIALS_FILE = "demo-credentials.txt"
D = dt.date
TODAY = D(2026, 11, 29)  # the demo's "today", so the story reads the same on any day
AMENDMENT = """# DEMO ASSUMPTION, not a fact: the PH-JP ACSA's entry into force is not public.
# acsa init --demo wrote this file so the demo story can run. Delete it to see orders refused.
amends = "PHJP"
version = 2
in_force_on = 2026-04-01
"""

UNITS = [
    ("PN-NBSBMA", "PH", "Philippine Navy, Naval Base Subic Bay logistics", "NFSL Subic, Zambales"),
    ("PAF-220AW", "PH", "Philippine Air Force, 220th Airlift Wing", "Mactan Air Base, Cebu"),
    ("AFP-HSC", "PH", "AFP Health Service Command", "Camp Aguinaldo, Quezon City"),
    ("JMSDF-DD110", "JP", "JMSDF destroyer JS Takanami (DD-110)", "JMSDF Yokosuka District"),
    ("JASDF-1TAW", "JP", "JASDF 1st Tactical Airlift Wing (C-130H)", "Komaki Air Base, Aichi"),
    ("JGSDF-MED", "JP", "JGSDF medical unit, Central Readiness Force", "Camp Asaka, Tokyo"),
    ("USN-CTF73", "US", "US Navy Task Force 73 logistics", "Sembawang, Singapore"),
]
# code, name, party, role, unit, limit, person
OFFICIALS = [
    ("jp-sato", "Lt Cdr Sato Kenji", "JP", "requesting", "JMSDF-DD110", "200000000 JPY", None),
    ("jp-mori", "Maj Mori Aya", "JP", "requesting", "JASDF-1TAW", "200000000 JPY", None),
    ("jp-kato", "Capt Kato Hiroshi", "JP", "approving", "JASDF-1TAW", "500000000 JPY", None),
    ("jp-ito", "CPO Ito Daisuke", "JP", "receiving", "JMSDF-DD110", None, None),
    ("jp-ono-sup", "Lt Ono Yuki", "JP", "supplying", "JASDF-1TAW", None, None),
    ("jp-abe", "Ms Abe Naoko", "JP", "finance", "JMSDF-DD110", None, None),
    ("jp-audit", "Mr Fujita Ken", "JP", "auditor", None, None, None),
    ("ph-cruz", "Capt Maria Cruz PN", "PH", "approving", "PN-NBSBMA", "50000000 PHP", None),
    ("ph-reyes", "Lt Jose Reyes PN", "PH", "supplying", "PN-NBSBMA", None, None),
    ("ph-garcia", "Maj Ana Garcia PAF", "PH", "requesting", "PAF-220AW", "30000000 PHP", None),
    ("ph-lim", "Capt Ramon Lim PAF", "PH", "receiving", "PAF-220AW", None, None),
    ("ph-santos", "Ms Liza Santos", "PH", "finance", "PN-NBSBMA", None, None),
    ("ph-bautista", "LTC Paolo Bautista", "PH", "requesting", "PN-NBSBMA", "30000000 PHP", None),
    ("ph-dizon", "Maj Carla Dizon", "PH", "supplying", "AFP-HSC", None, None),
    ("ph-audit", "Atty Rosa Mendoza", "PH", "auditor", None, None, None),
    ("us-miller", "Cdr John Miller USN", "US", "approving", "USN-CTF73", "5000000 USD", None),
    ("us-nguyen", "LT Anna Nguyen USN", "US", "supplying", "USN-CTF73", None, None),
    ("us-brooks", "Mr Sam Brooks", "US", "finance", "USN-CTF73", None, None),
]


def _line(category: str, description: str, qty: str, unit: str, price: str, currency: str,
          method: str, stock: str = "") -> orders.LineInput:
    return orders.LineInput(category=category, description=description, quantity=Decimal(qty),
                            unit=unit, unit_price=Money.of(price, currency), method=method,
                            stock_number=stock)


def _order(s: Session, *, agreement: str, activity: str, by: str, on: dt.date,
           lines: list[orders.LineInput], place: str, unit: str, poc: str,
           fund: str) -> str:
    return orders.create_order(
        s, agreement_code=agreement, activity_code=activity, by=by, order_on=on, lines=lines,
        delivery_place=place, delivery_on=on + dt.timedelta(days=2), fund_citation=fund,
        requester_poc=poc, requesting_unit=unit).number


def _through(s: Session, number: str, *, req: str, app: str, sup: str, rcv: str,
             sup_unit: str, poc: str, on: dt.date, doc: str,
             receive: dict[int, ReceiptLineInput] | None = None) -> None:
    orders.request_order(s, number=number, by=req, on=on)
    orders.accept_order(s, number=number, by=app, on=on, supplier_poc=poc,
                        supplying_unit=sup_unit)
    order = orders.get_order(s, number)
    orders.record_delivery(s, number=number, by=sup, on=on + dt.timedelta(days=2),
                           quantities={ln.line_no: ln.quantity for ln in order.lines},
                           document_name=doc, document=f"{doc} for {number}".encode(),
                           content_type="application/pdf")
    orders.record_receipt(s, number=number, by=rcv, on=on + dt.timedelta(days=2),
                          lines=receive or {})


def add_users(s: Session) -> str | None:
    """The demo's users, all with one random passphrase, written (mode 600) to
    $ACSA_HOME/demo-credentials.txt. acsa has no default password; this is the demo's only."""
    if s.scalar(select(User.id).limit(1)) is not None:
        return None
    password = "-".join(secrets.token_hex(3) for _ in range(4))
    for username, (party, official, admin) in USERS.items():
        users.add_user(s, username=username, password=password, party=party,
                       official=official, is_admin=admin)
    path = config.home() / CREDENTIALS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"password for every demo user: {password}\nusers: "
                    f"{', '.join(USERS)}\n", encoding="utf-8")
    path.chmod(0o600)
    return password


def load(s: Session) -> bool:
    """Load the story; False (and nothing done) if the database already has orders."""
    if s.scalar(select(Order.id).limit(1)) is not None:
        return False  # never mix the demo into real books
    folder = config.agreements_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "demo-phjp-in-force.toml").write_text(AMENDMENT, encoding="utf-8")
    agreements.load(s, folder)
    for code, party, name, address in UNITS:
        parties.add_unit(s, code=code, party=party, name=name, address=address)
    for code, name, party, role, unit, limit, person in OFFICIALS:
        parties.add_official(s, code=code, name=name, party=party, role=role,
                             valid_from=D(2025, 1, 1), valid_to=D(2028, 12, 31), unit=unit,
                             limit=Money.parse(limit) if limit else None, person=person)
    phjp, jpus = agreements.get(s, "PHJP"), agreements.get(s, "JPUS")
    rates.add_rate(s, base="JPY", quote="PHP", rate="0.3744", on=D(2026, 4, 1), kind="agreement_fy",
                   agreement=phjp, source="demo: MOD FY2026 rate (illustrative)")
    rates.add_rate(s, base="USD", quote="JPY", rate="148", on=D(2026, 4, 1), kind="agreement_fy",
                   agreement=jpus, source="demo: MOD FY2026 rate (illustrative)")
    for on, rate in ((D(2025, 4, 1), "57.20"), (D(2026, 4, 1), "58.10"), (D(2026, 10, 1), "58.65")):
        rates.add_rate(s, base="USD", quote="PHP", rate=rate, on=on, kind="market",
                       source="demo: central bank reference rate (illustrative)")
        rates.add_rate(s, base="JPY", quote="PHP", rate="0.3789", on=on, kind="market",
                       source="demo: central bank reference rate (illustrative)")
    activities.add_activity(s, code="BALIKATAN-2025", name="Balikatan 2025", type="exercise",
                            place="Luzon", starts_on=D(2025, 4, 21), ends_on=D(2025, 5, 9),
                            agreement_codes=["PHUS"])
    activities.add_activity(s, code="KAMANDAG-10", name="KAMANDAG 10", type="exercise",
                            place="Subic Bay and Zambales", starts_on=D(2026, 5, 26),
                            ends_on=D(2026, 6, 6), agreement_codes=["PHJP", "PHUS"])
    activities.add_activity(s, code="HADR-EX-2026", name="Joint HADR exercise", type="hadr",
                            place="Ormoc, Leyte", starts_on=D(2026, 7, 6), ends_on=D(2026, 7, 17),
                            agreement_codes=["PHJP"])
    activities.add_activity(s, code="TY-RELIEF-CEBU", name="Typhoon relief, Cebu",
                            type="disaster_response", place="Cebu",
                            starts_on=D(2026, 9, 20), ends_on=D(2026, 10, 10),
                            agreement_codes=["PHJP"])
    activities.add_activity(s, code="PORTCALL-MNL", name="JMSDF port call, Manila",
                            type="liaison", place="Manila South Harbor",
                            starts_on=D(2026, 8, 18), ends_on=D(2026, 8, 21),
                            agreement_codes=["PHJP"])

    # 1. KAMANDAG: the Philippine Navy refuels JS Takanami at Subic; short by 1,500 L; paid.
    n1 = _order(s, agreement="PHJP", activity="KAMANDAG-10", by="jp-sato", on=D(2026, 5, 27),
                lines=[_line("fuel", "Diesel fuel, marine (F-76)", "120000", "L", "68.50", "PHP",
                             "cash", "9140-00-273-2377"),
                       _line("water", "Potable water", "80", "m**3", "150", "PHP", "cash",
                             "6810-00-000-0001")],
                place="Alava Pier, Subic Bay", unit="JMSDF-DD110",
                poc="Lt Cdr Sato, +81 46 822 0000", fund="JMSDF FY2026 O&M 02-31-118")
    _through(s, n1, req="jp-sato", app="ph-cruz", sup="ph-reyes", rcv="jp-ito",
             sup_unit="PN-NBSBMA", poc="Lt Reyes, +63 47 252 0000", on=D(2026, 5, 27),
             doc="fuel-delivery-ticket-0441.pdf",
             receive={1: ReceiptLineInput(Decimal(118500), reason="meter reading at the "
                                          "ship's manifold 1,500 L below the truck meter")})
    bill1 = settlement.open_claim_numbers(s, orders.get_order(s, n1))[0]
    settlement.pay(s, claim_ref=bill1, by="jp-abe", on=D(2026, 6, 20),
                   amount=Money.of("5000000", "PHP"), reference="JMSDF wire 2026-0620-01")
    settlement.pay(s, claim_ref=bill1, by="jp-abe", on=D(2026, 6, 26),
                   amount=Money.of("3129250", "PHP"), reference="JMSDF wire 2026-0626-04")
    orders.close_order(s, number=n1, by="ph-santos", on=D(2026, 7, 1))

    # 2. Typhoon: a JASDF C-130 airlifts Philippine relief goods; repaid by an equal-value
    #    exchange (a PAF C-130 airlifts JSDF cargo Mactan-Naha).
    n2 = _order(s, agreement="PHJP", activity="TY-RELIEF-CEBU", by="ph-garcia",
                on=D(2026, 9, 21),
                lines=[_line("transportation", "C-130H airlift Mactan-Tacloban, relief goods, "
                             "flight hours", "12", "h", "1150000", "JPY", "eve")],
                place="Mactan Air Base", unit="PAF-220AW", poc="Maj Garcia, +63 32 340 0000",
                fund="PAF FY2026 MOOE 101-2026-0930")
    _through(s, n2, req="ph-garcia", app="jp-kato", sup="jp-ono-sup", rcv="ph-lim",
             sup_unit="JASDF-1TAW", poc="Maj Mori, +81 568 76 0000", on=D(2026, 9, 21),
             doc="airlift-mission-report-JASDF-0921.pdf")
    eve = settlement.open_claim_numbers(s, orders.get_order(s, n2))[0]
    settlement.exchange(s, claim_ref=eve, by="ph-santos", on=D(2026, 11, 12),
                        value=Money.of("13800000", "JPY"), category="transportation",
                        description="PAF C-130 airlift Mactan-Naha, JSDF cargo, 12 flight hours")

    # 3. HADR exercise: AFP medical services for JGSDF personnel; billed, half paid.
    n3 = _order(s, agreement="PHJP", activity="HADR-EX-2026", by="jp-sato", on=D(2026, 7, 8),
                lines=[_line("medical", "Field hospital outpatient care, patient-days", "45",
                             "person_day", "8500", "PHP", "cash")],
                place="Ormoc City field hospital", unit="JMSDF-DD110",
                poc="Lt Cdr Sato, +81 46 822 0000", fund="JGSDF FY2026 O&M 05-11-402")
    _through(s, n3, req="jp-sato", app="ph-cruz", sup="ph-dizon", rcv="jp-ito",
             sup_unit="AFP-HSC", poc="Maj Dizon, +63 2 8911 0000", on=D(2026, 7, 8),
             doc="patient-register-HSC-0708.pdf")
    bill3 = settlement.open_claim_numbers(s, orders.get_order(s, n3))[0]
    settlement.pay(s, claim_ref=bill3, by="jp-abe", on=D(2026, 7, 30),
                   amount=Money.of("500000", "JPY"), reference="JGSDF wire 2026-0730-07")

    # 4. Spare parts from JMSDF to the Philippine Navy, returned in kind.
    n4 = _order(s, agreement="PHJP", activity="KAMANDAG-10", by="ph-bautista",
                on=D(2026, 5, 29),
                lines=[_line("spare_parts", "Fuel filter element, gas turbine", "40", "each",
                             "38000", "JPY", "rik", "2940-21-912-3456")],
                place="Alava Pier, Subic Bay", unit="PN-NBSBMA", poc="LTC Bautista",
                fund="PN FY2026 MOOE 03-2026-0529")
    _through(s, n4, req="ph-bautista", app="jp-kato", sup="jp-ono-sup", rcv="ph-lim",
             sup_unit="JMSDF-DD110", poc="CPO Ito", on=D(2026, 5, 29),
             doc="issue-slip-DD110-0531.pdf")
    rik = settlement.open_claim_numbers(s, orders.get_order(s, n4))[0]
    settlement.return_in_kind(s, claim_ref=rik, by="ph-santos", on=D(2026, 10, 15),
                              quantity=Decimal(40), unit="each", stock_number="2940-21-912-3456",
                              description="40 filter elements, same NSN, new stock")
    orders.close_order(s, number=n4, by="jp-abe", on=D(2026, 10, 20))

    # 5. Balikatan 2025 (US-PH MLSA): US fuel to the PN, to be returned in kind; never
    #    returned, so the deadline run converts it into a cash debt and the order is overdue.
    n5 = _order(s, agreement="PHUS", activity="BALIKATAN-2025", by="ph-bautista",
                on=D(2025, 4, 24),
                lines=[_line("fuel", "JP-5 aviation fuel", "60000", "L", "0.92", "USD", "rik",
                             "9130-01-031-5816")],
                place="Subic Bay", unit="PN-NBSBMA", poc="LTC Bautista",
                fund="PN FY2025 MOOE 03-2025-0424")
    _through(s, n5, req="ph-bautista", app="us-miller", sup="us-nguyen", rcv="ph-lim",
             sup_unit="USN-CTF73", poc="LT Nguyen", on=D(2025, 4, 24),
             doc="fuel-issue-USN-0426.pdf")

    # 6. Port call: tug and pilot services at Manila; the JMSDF disputes the tug hours.
    n6 = _order(s, agreement="PHJP", activity="PORTCALL-MNL", by="jp-sato", on=D(2026, 8, 18),
                lines=[_line("port_services", "Harbour tug assistance, hours", "6", "h",
                             "42000", "PHP", "cash")],
                place="Manila South Harbor, Pier 15", unit="JMSDF-DD110",
                poc="Lt Cdr Sato", fund="JMSDF FY2026 O&M 02-31-119")
    _through(s, n6, req="jp-sato", app="ph-cruz", sup="ph-reyes", rcv="jp-ito",
             sup_unit="PN-NBSBMA", poc="Lt Reyes", on=D(2026, 8, 18),
             doc="tug-log-MSH-0820.pdf")
    orders.dispute_order(s, number=n6, by="jp-abe", on=D(2026, 9, 2),
                         reason="ship's log shows 4 tug hours, not 6 as delivered and billed")

    # 7. Food for the same port call: billed 20 August, unpaid, so overdue.
    n7 = _order(s, agreement="PHJP", activity="PORTCALL-MNL", by="jp-sato", on=D(2026, 8, 19),
                lines=[_line("food", "Fresh provisions (vegetables, fruit, bread)", "1800", "kg",
                             "210", "PHP", "cash", "8915-00-000-0002")],
                place="Manila South Harbor, Pier 15", unit="JMSDF-DD110",
                poc="Lt Cdr Sato", fund="JMSDF FY2026 O&M 02-31-120")
    _through(s, n7, req="jp-sato", app="ph-cruz", sup="ph-reyes", rcv="jp-ito",
             sup_unit="PN-NBSBMA", poc="Lt Reyes", on=D(2026, 8, 19),
             doc="provisions-receipt-MSH-0821.pdf")

    # 8. A request still awaiting the supplier's acceptance.
    n8 = _order(s, agreement="PHJP", activity="TY-RELIEF-CEBU", by="ph-garcia",
                on=D(2026, 10, 2),
                lines=[_line("billeting", "Billeting for relief aircrew, person-nights", "30",
                             "person_day", "9000", "JPY", "cash")],
                place="Mactan Air Base", unit="PAF-220AW", poc="Maj Garcia",
                fund="PAF FY2026 MOOE 101-2026-1002")
    orders.request_order(s, number=n8, by="ph-garcia", on=D(2026, 10, 2))

    settlement.run_deadlines(s, as_of=TODAY)
    add_users(s)
    return True
