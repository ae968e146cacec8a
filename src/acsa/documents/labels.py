"""Words on the documents in English, Japanese and Filipino.

Each document is bilingual: English with Japanese (`ja`) or English with Filipino (`fil`)
side by side. `label(key, lang)` gives one language; `both(key, lang)` gives
"English / other" for a bilingual caption. Category, method and state names come from the
same tables the rules use, so a new category fails `test_labels` until it is translated.
"""

from __future__ import annotations

LANGS = ("en", "ja", "fil")

CATEGORIES: dict[str, dict[str, str]] = {
    "food": {"en": "Food", "ja": "食料", "fil": "Pagkain"},
    "water": {"en": "Water", "ja": "水", "fil": "Tubig"},
    "billeting": {"en": "Billeting", "ja": "宿泊", "fil": "Tuluyan"},
    "transportation": {"en": "Transportation (incl. airlift)", "ja": "輸送（空輸を含む）",
                       "fil": "Transportasyon (kasama ang airlift)"},
    "fuel": {"en": "Fuel, oil and lubricants", "ja": "燃料・油脂・潤滑油",
             "fil": "Gasolina, langis at pampadulas"},
    "clothing": {"en": "Clothing", "ja": "被服", "fil": "Kasuotan"},
    "communications": {"en": "Communications", "ja": "通信", "fil": "Komunikasyon"},
    "medical": {"en": "Medical services", "ja": "衛生業務", "fil": "Serbisyong medikal"},
    "base_support": {"en": "Base support", "ja": "基地支援", "fil": "Suporta sa base"},
    "storage": {"en": "Storage", "ja": "保管", "fil": "Imbakan"},
    "facilities": {"en": "Use of facilities", "ja": "施設の利用",
                   "fil": "Paggamit ng pasilidad"},
    "training": {"en": "Training services", "ja": "訓練業務", "fil": "Serbisyo sa pagsasanay"},
    "spare_parts": {"en": "Spare parts and components", "ja": "部品・構成品",
                    "fil": "Piyesa at bahagi"},
    "repair": {"en": "Repair and maintenance", "ja": "修理・整備",
               "fil": "Pagkukumpuni at pagpapanatili"},
    "port_services": {"en": "Airport and seaport services", "ja": "空港・港湾業務",
                      "fil": "Serbisyo sa paliparan at daungan"},
    "ammunition": {"en": "Ammunition", "ja": "弾薬", "fil": "Bala"},
}

METHODS: dict[str, dict[str, str]] = {
    "cash": {"en": "Cash reimbursement", "ja": "現金による償還", "fil": "Bayad na salapi"},
    "rik": {"en": "Replacement in kind", "ja": "同種・同等・同量の物品による返還",
            "fil": "Kapalit na kapareho"},
    "eve": {"en": "Equal-value exchange", "ja": "同等の価値の役務による返還",
            "fil": "Palitan ng katumbas na halaga"},
}

STATES: dict[str, dict[str, str]] = {
    "draft": {"en": "Draft", "ja": "作成中", "fil": "Borador"},
    "requested": {"en": "Requested", "ja": "要請済", "fil": "Hiniling"},
    "accepted": {"en": "Accepted", "ja": "受諾済", "fil": "Tinanggap"},
    "delivered": {"en": "Delivered", "ja": "提供済", "fil": "Naihatid"},
    "received": {"en": "Received", "ja": "受領済", "fil": "Natanggap"},
    "settled": {"en": "Settled", "ja": "決済済", "fil": "Nabayaran"},
    "closed": {"en": "Closed", "ja": "完了", "fil": "Sarado"},
    "cancelled": {"en": "Cancelled", "ja": "取消", "fil": "Kinansela"},
    "disputed": {"en": "Disputed", "ja": "係争中", "fil": "Pinagtatalunan"},
}

KINDS: dict[str, dict[str, str]] = {
    "supply": {"en": "Supplies", "ja": "物品", "fil": "Kagamitan"},
    "service": {"en": "Services", "ja": "役務", "fil": "Serbisyo"},
}

PARTIES: dict[str, dict[str, str]] = {
    "PH": {"en": "Republic of the Philippines (AFP)", "ja": "フィリピン共和国（フィリピン軍）",
           "fil": "Republika ng Pilipinas (AFP)"},
    "JP": {"en": "Japan (JSDF)", "ja": "日本国（自衛隊）", "fil": "Hapon (JSDF)"},
    "US": {"en": "United States of America", "ja": "アメリカ合衆国",
           "fil": "Estados Unidos ng Amerika"},
}

# Captions shared by the documents. Add a key here (all three languages) before using it.
TEXT: dict[str, dict[str, str]] = {
    "order_form": {"en": "ACSA Order and Receipt", "ja": "ACSA 発注書兼受領書",
                   "fil": "Order at Resibo ng ACSA"},
    "claim_notice": {"en": "Claim Notice / Bill", "ja": "請求書", "fil": "Paunawa ng Singil"},
    "payment_receipt": {"en": "Payment Receipt", "ja": "領収書",
                        "fil": "Resibo ng Pagbabayad"},
    "offset": {"en": "Offset (Netting) Document", "ja": "相殺書",
               "fil": "Dokumento ng Pagtutuos"},
    "statement": {"en": "Statement of Account", "ja": "勘定明細書",
                  "fil": "Pahayag ng Account"},
    "ageing": {"en": "Ageing of Open Claims", "ja": "未決済請求の経過期間",
               "fil": "Edad ng mga Bukas na Singil"},
    "activity_register": {"en": "Activity Register", "ja": "活動別台帳",
                          "fil": "Talaan ng Aktibidad"},
    "annual_report": {"en": "Annual Report", "ja": "年次報告", "fil": "Taunang Ulat"},
    "agreement": {"en": "Agreement", "ja": "協定", "fil": "Kasunduan"},
    "activity": {"en": "Activity", "ja": "活動", "fil": "Aktibidad"},
    "order_number": {"en": "Order number", "ja": "発注番号", "fil": "Numero ng order"},
    "order_date": {"en": "Order date", "ja": "発注日", "fil": "Petsa ng order"},
    "requesting_party": {"en": "Requesting party", "ja": "要請側", "fil": "Humihiling na panig"},
    "supplying_party": {"en": "Supplying party", "ja": "提供側", "fil": "Nagbibigay na panig"},
    "category": {"en": "Category", "ja": "区分", "fil": "Kategorya"},
    "description": {"en": "Description", "ja": "品名・内容", "fil": "Paglalarawan"},
    "stock_number": {"en": "Stock number", "ja": "物品番号", "fil": "Numero ng stock"},
    "quantity": {"en": "Quantity", "ja": "数量", "fil": "Dami"},
    "unit": {"en": "Unit", "ja": "単位", "fil": "Yunit"},
    "unit_price": {"en": "Unit price", "ja": "単価", "fil": "Presyo bawat yunit"},
    "total": {"en": "Total", "ja": "合計", "fil": "Kabuuan"},
    "method": {"en": "Settlement method", "ja": "決済方法", "fil": "Paraan ng pagbabayad"},
    "due_date": {"en": "Due date", "ja": "期限", "fil": "Takdang petsa"},
    "state": {"en": "State", "ja": "状態", "fil": "Katayuan"},
    "amount": {"en": "Amount", "ja": "金額", "fil": "Halaga"},
    "currency": {"en": "Currency", "ja": "通貨", "fil": "Salapi"},
    "rate": {"en": "Rate", "ja": "換算率", "fil": "Palitan"},
    "date": {"en": "Date", "ja": "日付", "fil": "Petsa"},
    "balance": {"en": "Balance", "ja": "残高", "fil": "Balanse"},
    "opening_balance": {"en": "Opening balance", "ja": "期首残高",
                        "fil": "Panimulang balanse"},
    "closing_balance": {"en": "Closing balance", "ja": "期末残高",
                        "fil": "Pangwakas na balanse"},
    "signature": {"en": "Signature", "ja": "署名", "fil": "Lagda"},
    "signed_by": {"en": "Signed by", "ja": "署名者", "fil": "Nilagdaan ni"},
    "signed_on": {"en": "Signed on", "ja": "署名日", "fil": "Petsa ng paglagda"},
    "content_hash": {"en": "Content hash (SHA-256)", "ja": "内容ハッシュ（SHA-256）",
                     "fil": "Hash ng nilalaman (SHA-256)"},
    "delivery_place": {"en": "Place of delivery", "ja": "引渡場所", "fil": "Lugar ng paghahatid"},
    "delivery_date": {"en": "Delivery date", "ja": "引渡日", "fil": "Petsa ng paghahatid"},
    "deliveries": {"en": "Deliveries", "ja": "提供記録", "fil": "Mga paghahatid"},
    "receipts": {"en": "Receipts", "ja": "受領記録", "fil": "Mga pagtanggap"},
    "discrepancy": {"en": "Discrepancy", "ja": "過不足・損傷", "fil": "Pagkakaiba"},
    "source_document": {"en": "Source document", "ja": "根拠書類",
                        "fil": "Pinagmulang dokumento"},
    "point_of_contact": {"en": "Point of contact", "ja": "連絡担当者",
                         "fil": "Taong makakausap"},
    "fund_citation": {"en": "Fund citation", "ja": "予算科目", "fil": "Pinagkukunang pondo"},
    "page": {"en": "Page", "ja": "頁", "fil": "Pahina"},
    # --- the order form, claim notice, payment receipt and offset document ---------------
    "page_of": {"en": "Page {page} of {pages}", "ja": "{page} / {pages} 頁",
                "fil": "Pahina {page} ng {pages}"},
    "fiscal_year": {"en": "Fiscal year", "ja": "会計年度", "fil": "Taon ng pananalapi"},
    "implementing_arrangement": {"en": "Implementing arrangement", "ja": "実施取決め",
                                 "fil": "Kaayusang pagpapatupad"},
    "military_unit": {"en": "Unit", "ja": "部隊", "fil": "Yunit militar"},
    "billing_address": {"en": "Billing address", "ja": "請求書送付先",
                        "fil": "Address ng singilan"},
    "line_no": {"en": "No.", "ja": "番号", "fil": "Blg."},
    "line_total": {"en": "Line total", "ja": "金額", "fil": "Kabuuan ng linya"},
    "lines": {"en": "Lines", "ja": "明細", "fil": "Mga linya"},
    "order_details": {"en": "Order", "ja": "発注内容", "fil": "Detalye ng order"},
    "parties": {"en": "Parties", "ja": "当事者", "fil": "Mga panig"},
    "delivery": {"en": "Delivery", "ja": "引渡し", "fil": "Paghahatid"},
    "signatures": {"en": "Signatures", "ja": "署名", "fil": "Mga lagda"},
    "request_signature": {"en": "Request (requesting party)", "ja": "要請（要請側）",
                          "fil": "Kahilingan (humihiling na panig)"},
    "accept_signature": {"en": "Acceptance (supplying party)", "ja": "受諾（提供側）",
                         "fil": "Pagtanggap (nagbibigay na panig)"},
    "receipt_signature": {"en": "Receipt (requesting party)", "ja": "受領（要請側）",
                          "fil": "Pagtanggap ng kalakal (humihiling na panig)"},
    "official": {"en": "Official", "ja": "署名権者", "fil": "Opisyal"},
    "person": {"en": "Person", "ja": "本人識別", "fil": "Tao"},
    "signed_hash": {"en": "Signed content hash", "ja": "署名対象ハッシュ",
                    "fil": "Nilagdaang hash"},
    "not_signed": {"en": "Not signed", "ja": "未署名", "fil": "Hindi pa nilagdaan"},
    "verification_code": {"en": "Verification code", "ja": "照合コード",
                          "fil": "Code ng beripikasyon"},
    "verify_hint": {"en": "Check a printed or saved copy against the books: acsa verify-doc FILE",
                    "ja": "印刷・保存した写しを帳簿と照合: acsa verify-doc FILE",
                    "fil": "Suriin ang nakalimbag o naka-save na kopya laban sa talaan: "
                           "acsa verify-doc FILE"},
    "delivered_by": {"en": "Delivered by", "ja": "提供者", "fil": "Inihatid ni"},
    "received_by": {"en": "Received by", "ja": "受領者", "fil": "Tinanggap ni"},
    "received_on": {"en": "Received on", "ja": "受領日", "fil": "Petsa ng pagtanggap"},
    "delivered_qty": {"en": "Delivered", "ja": "提供数量", "fil": "Naihatid"},
    "received_qty": {"en": "Received", "ja": "受領数量", "fil": "Natanggap"},
    "damaged_qty": {"en": "Damaged", "ja": "損傷数量", "fil": "Nasira"},
    "billable_qty": {"en": "Billable", "ja": "請求対象数量", "fil": "Sisingilin"},
    "reason": {"en": "Reason", "ja": "理由", "fil": "Dahilan"},
    "discrepancy_short": {"en": "Short", "ja": "不足", "fil": "Kulang"},
    "discrepancy_over": {"en": "Over", "ja": "過剰", "fil": "Sobra"},
    "discrepancy_damaged": {"en": "Damaged", "ja": "損傷", "fil": "Nasira"},
    "receipt_pending": {"en": "Not yet received", "ja": "未受領", "fil": "Hindi pa natatanggap"},
    "claims": {"en": "Claims", "ja": "請求", "fil": "Mga singil"},
    "claim_number": {"en": "Claim number", "ja": "請求番号", "fil": "Numero ng singil"},
    "creditor": {"en": "Creditor", "ja": "債権者", "fil": "Nagpapautang"},
    "debtor": {"en": "Debtor", "ja": "債務者", "fil": "May utang"},
    "bill_to": {"en": "Bill to", "ja": "請求先", "fil": "Singilin sa"},
    "pay_to": {"en": "Pay to", "ja": "支払先", "fil": "Bayaran sa"},
    "issued_on": {"en": "Issued on", "ja": "発行日", "fil": "Petsa ng paglabas"},
    "deadline": {"en": "Settlement deadline", "ja": "決済期限",
                 "fil": "Huling araw ng pagbabayad"},
    "amount_billed": {"en": "Amount billed", "ja": "請求額", "fil": "Halagang sinisingil"},
    "settled_to_date": {"en": "Settled to date", "ja": "決済済額", "fil": "Nabayaran na"},
    "outstanding": {"en": "Outstanding", "ja": "未決済残高", "fil": "Natitirang balanse"},
    "settlements": {"en": "Settlements", "ja": "決済記録", "fil": "Mga pagbabayad"},
    "lines_billed": {"en": "Lines billed", "ja": "請求明細", "fil": "Mga linyang sinisingil"},
    "payment_instructions": {"en": "Payment instructions", "ja": "支払要領",
                             "fil": "Mga tagubilin sa pagbabayad"},
    "terms_cash": {"en": "Pay {amount} within {days} days of this bill, by {due}, and in any "
                         "case no later than {months} months after delivery ({deadline}). "
                         "Quote the claim number {number} with the payment.",
                   "ja": "本請求の日から{days}日以内（{due}まで）、かつ提供から{months}か月以内"
                         "（{deadline}まで）に {amount} を支払うこと。支払の際は請求番号 {number} "
                         "を明記すること。",
                   "fil": "Bayaran ang {amount} sa loob ng {days} araw mula sa singil na ito, "
                          "hanggang {due}, at hindi lalampas sa {months} buwan mula sa "
                          "paghahatid ({deadline}). Banggitin ang numero ng singil {number}."},
    "terms_rik": {"en": "Return {quantity} of the same item, or of the same type, quality and "
                        "quantity, no later than {due} ({months} months after delivery). "
                        "Not returned in time, it becomes a cash debt of the value outstanding.",
                  "ja": "{due}まで（提供から{months}か月以内）に、同一の物品又は同種・同等・同量の"
                        "物品 {quantity} を返還すること。期限までに返還されない場合は未決済額の"
                        "現金債務となる。",
                  "fil": "Ibalik ang {quantity} ng parehong kalakal, o ng parehong uri, kalidad "
                         "at dami, hanggang {due} ({months} buwan mula sa paghahatid). Kapag "
                         "hindi naibalik sa oras, ito ay nagiging utang na salapi."},
    "terms_eve": {"en": "Repay with a service of the same type and equal value ({amount}) no "
                        "later than {due} ({months} months after delivery). Not repaid in time, "
                        "it becomes a cash debt of the value outstanding.",
                  "ja": "{due}まで（提供から{months}か月以内）に、同種で同等の価値（{amount}）の"
                        "役務により返還すること。期限までに返還されない場合は未決済額の"
                        "現金債務となる。",
                  "fil": "Bayaran ng serbisyong kapareho ang uri at katumbas ang halaga "
                         "({amount}) hanggang {due} ({months} buwan mula sa paghahatid). Kapag "
                         "hindi nabayaran sa oras, ito ay nagiging utang na salapi."},
    "converted_from": {"en": "Converted from overdue claim", "ja": "期限超過により転換された請求",
                       "fil": "Na-convert mula sa overdue na singil"},
    "kind": {"en": "Kind", "ja": "種別", "fil": "Uri"},
    "kind_payment": {"en": "Payment", "ja": "支払", "fil": "Pagbabayad"},
    "kind_return": {"en": "Return in kind", "ja": "現品返還", "fil": "Pagbabalik ng kalakal"},
    "kind_exchange": {"en": "Equal-value exchange", "ja": "同等価値交換",
                      "fil": "Palitan ng katumbas na halaga"},
    "kind_offset": {"en": "Offset", "ja": "相殺", "fil": "Pagtutuos"},
    "kind_conversion": {"en": "Conversion to cash", "ja": "現金債務への転換",
                        "fil": "Pag-convert sa salapi"},
    "receipt_number": {"en": "Receipt number", "ja": "領収番号", "fil": "Numero ng resibo"},
    "amount_received": {"en": "Amount received", "ja": "受領額", "fil": "Halagang natanggap"},
    "applied_to_claim": {"en": "Applied to the claim", "ja": "請求への充当額",
                         "fil": "Inilapat sa singil"},
    "outstanding_after": {"en": "Outstanding after this settlement", "ja": "本決済後の未決済残高",
                          "fil": "Natitira matapos ang pagbabayad na ito"},
    "reference": {"en": "Reference", "ja": "参照番号", "fil": "Sanggunian"},
    "recorded_by": {"en": "Recorded by", "ja": "記録者", "fil": "Itinala ni"},
    "received_from": {"en": "Received from", "ja": "支払者", "fil": "Natanggap mula kay"},
    "offset_number": {"en": "Offset number", "ja": "相殺番号", "fil": "Numero ng pagtutuos"},
    "offset_date": {"en": "Offset date", "ja": "相殺日", "fil": "Petsa ng pagtutuos"},
    "amount_offset": {"en": "Amount offset", "ja": "相殺額", "fil": "Halagang pinagtuos"},
    "owed_to": {"en": "Claims owed to {party}", "ja": "{party} の債権",
                "fil": "Mga singil na utang kay {party}"},
    "applied": {"en": "Applied", "ja": "充当額", "fil": "Inilapat"},
    "offset_value": {"en": "Value in offset currency", "ja": "相殺通貨換算額",
                     "fil": "Halaga sa salapi ng pagtutuos"},
    "proposal_signature": {"en": "Proposal (proposing party)", "ja": "提案（提案側）",
                           "fil": "Mungkahi (nagmumungkahing panig)"},
    "approval_signature": {"en": "Approval (approving party)", "ja": "承認（承認側）",
                           "fil": "Pag-apruba (nag-aaprubang panig)"},
    "awaiting_approval": {"en": "Awaiting approval", "ja": "承認待ち",
                          "fil": "Naghihintay ng pag-apruba"},
    "offset_state_proposed": {"en": "Proposed", "ja": "提案済", "fil": "Iminungkahi"},
    "offset_state_approved": {"en": "Approved", "ja": "承認済", "fil": "Inaprubahan"},
    "offset_state_withdrawn": {"en": "Withdrawn", "ja": "撤回", "fil": "Binawi"},
    "claim_state_open": {"en": "Open", "ja": "未決済", "fil": "Bukas"},
    "claim_state_settled": {"en": "Settled", "ja": "決済済", "fil": "Nabayaran"},
    "claim_state_converted": {"en": "Converted", "ja": "転換済", "fil": "Na-convert"},
    "note": {"en": "Note", "ja": "備考", "fil": "Tala"},
    "internal_notes": {"en": "Internal notes", "ja": "内部備考", "fil": "Panloob na tala"},
    "dispute_reason": {"en": "Dispute", "ja": "係争内容", "fil": "Pagtatalo"},
    "cancel_reason": {"en": "Cancellation reason", "ja": "取消理由",
                      "fil": "Dahilan ng pagkansela"},
    "none": {"en": "None", "ja": "なし", "fil": "Wala"},
    "issued_by_system": {"en": "Issued by acsa when the receipt was recorded",
                         "ja": "受領記録時に acsa が発行", "fil": "Inilabas ng acsa nang maitala "
                                                               "ang pagtanggap"},
}


def label(table: dict[str, dict[str, str]], key: str, lang: str) -> str:
    """One language's word for `key`; English when `lang` is English or unknown."""
    entry = table.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]


def both(table: dict[str, dict[str, str]], key: str, lang: str) -> str:
    """'English / other' for a bilingual caption (just English when lang is 'en')."""
    en = label(table, key, "en")
    if lang == "en":
        return en
    return f"{en} / {label(table, key, lang)}"
