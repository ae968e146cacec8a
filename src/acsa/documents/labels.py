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
