"""Captions of the statements and reports that `labels.TEXT` does not have, in the same
{key: {en, ja, fil}} shape, and the one function that reads either table.

The reports are bilingual like the forms: English alone (`en`, the default of the report
commands) or English with Japanese (`ja`) or Filipino (`fil`). A caption is looked up here
first, then in `labels.TEXT`, so a key `labels.TEXT` gains later needs no change here.
"""

from __future__ import annotations

from acsa.documents import labels

LANGS = labels.LANGS

TEXT: dict[str, dict[str, str]] = {
    "as_of": {"en": "As of", "ja": "基準日", "fil": "Hanggang"},
    "period": {"en": "Period", "ja": "期間", "fil": "Panahon"},
    "party": {"en": "Book of", "ja": "帳簿の当事者", "fil": "Aklat ng"},
    "for_party": {"en": "Party", "ja": "当事者", "fil": "Panig"},
    "partner": {"en": "Partner", "ja": "相手方", "fil": "Katuwang"},
    "order": {"en": "Order", "ja": "発注", "fil": "Order"},
    "claim": {"en": "Claim", "ja": "請求", "fil": "Singil"},
    "debit": {"en": "Debit", "ja": "借方", "fil": "Debit"},
    "credit": {"en": "Credit", "ja": "貸方", "fil": "Kredit"},
    "movements": {"en": "Movements", "ja": "取引明細", "fil": "Mga galaw"},
    "commodity": {"en": "Currency or item", "ja": "通貨・物品", "fil": "Salapi o bagay"},
    "reporting_currency": {"en": "Reporting currency", "ja": "報告通貨",
                           "fil": "Salapi ng ulat"},
    "rates_used": {"en": "Rates used", "ja": "使用した換算率",
                   "fil": "Mga palitang ginamit"},
    "source": {"en": "Source", "ja": "出典", "fil": "Pinagmulan"},
    "effective_on": {"en": "Effective", "ja": "適用日", "fil": "Epektibo"},
    "kind_of_rate": {"en": "Kind", "ja": "種別", "fil": "Uri"},
    "converted": {"en": "Converted", "ja": "換算額", "fil": "Kinonberte"},
    "no_rate": {"en": "no rate recorded: not converted", "ja": "換算率未登録のため換算せず",
                "fil": "walang naitalang palitan: hindi kinonberte"},
    "sign_note": {"en": "A positive balance is owed to {party}; a negative one is owed by "
                        "{party} to {partner}.",
                  "ja": "正の残高は{partner}から{party}への債権、負の残高は{party}から"
                        "{partner}への債務。",
                  "fil": "Ang positibong balanse ay utang sa {party}; ang negatibo ay utang "
                         "ng {party} sa {partner}."},
    "translation_note": {"en": "Balances translated at the rate in effect on the statement "
                               "date; in-kind obligations valued at the order price.",
                         "ja": "残高は基準日の換算率で換算。現品返還義務は発注単価で評価。",
                         "fil": "Isinalin ang balanse sa palitang umiiral sa petsa ng "
                                "pahayag; ang kapalit na bagay ay sa presyo ng order."},
    "no_movements": {"en": "No movements in the period.", "ja": "期間中の取引なし",
                     "fil": "Walang galaw sa panahong ito."},
    "balance_chart": {"en": "Balance over time", "ja": "残高の推移",
                      "fil": "Balanse sa paglipas ng panahon"},
    "creditor": {"en": "Owed to", "ja": "債権者", "fil": "Pinagkakautangan"},
    "debtor": {"en": "Owed by", "ja": "債務者", "fil": "May utang"},
    "outstanding": {"en": "Outstanding", "ja": "未決済残", "fil": "Natitira"},
    "value": {"en": "Value", "ja": "価額", "fil": "Halaga"},
    "delivered_on": {"en": "Delivered", "ja": "引渡日", "fil": "Naihatid"},
    "mark_12": {"en": "12-month mark", "ja": "12か月期限", "fil": "Hangganang 12 buwan"},
    "mark_18": {"en": "18-month mark", "ja": "18か月期限", "fil": "Hangganang 18 buwan"},
    "age_days": {"en": "Age (days)", "ja": "経過日数", "fil": "Edad (araw)"},
    "bucket": {"en": "Bucket", "ja": "区分期間", "fil": "Pangkat"},
    "overdue": {"en": "Overdue", "ja": "期限超過", "fil": "Lampas na"},
    "past_12": {"en": "past 12 months: settlement deadline", "ja": "12か月経過（決済期限）",
                "fil": "lampas 12 buwan: takdang pagbabayad"},
    "past_18": {"en": "past 18 months: may be offset (US)", "ja": "18か月経過（相殺可能・米国）",
                "fil": "lampas 18 buwan: maaaring ituos (US)"},
    "buckets": {"en": "Totals by age", "ja": "経過期間別合計", "fil": "Kabuuan ayon sa edad"},
    "ageing_chart": {"en": "Open claims by age", "ja": "経過期間別の未決済請求",
                     "fil": "Bukas na singil ayon sa edad"},
    "requester": {"en": "Requester", "ja": "要請側", "fil": "Humiling"},
    "supplier": {"en": "Supplier", "ja": "提供側", "fil": "Nagbigay"},
    "orders": {"en": "Orders", "ja": "発注一覧", "fil": "Mga order"},
    "by_category": {"en": "Totals by category", "ja": "区分別合計",
                    "fil": "Kabuuan ayon sa kategorya"},
    "by_kind": {"en": "Supplies and services", "ja": "物品・役務別",
                "fil": "Kagamitan at serbisyo"},
    "by_partner": {"en": "By partner", "ja": "相手方別", "fil": "Ayon sa katuwang"},
    "by_activity": {"en": "By activity", "ja": "活動別", "fil": "Ayon sa aktibidad"},
    "category_chart": {"en": "Support by category", "ja": "区分別の支援額",
                       "fil": "Suporta ayon sa kategorya"},
    "not_totalled": {"en": "Cancelled orders are listed but not totalled.",
                     "ja": "取消済の発注は一覧に含むが合計には含まない。",
                     "fil": "Nakalista ang kinanselang order ngunit hindi kasama sa kabuuan."},
    "fiscal_year": {"en": "Fiscal year", "ja": "会計年度", "fil": "Taon ng pananalapi"},
    "provided": {"en": "Support provided", "ja": "提供した支援", "fil": "Suportang ibinigay"},
    "received": {"en": "Support received", "ja": "受けた支援", "fil": "Suportang natanggap"},
    "direction": {"en": "Direction", "ja": "方向", "fil": "Direksiyon"},
    "ceilings": {"en": "Ceiling use", "ja": "上限額の使用状況",
                 "fil": "Paggamit ng hangganan"},
    "ceiling": {"en": "Ceiling", "ja": "上限額", "fil": "Hangganan"},
    "used": {"en": "Used", "ja": "使用額", "fil": "Nagamit"},
    "headroom": {"en": "Headroom", "ja": "残余額", "fil": "Natitirang puwang"},
    "use_percent": {"en": "Use", "ja": "使用率", "fil": "Gamit"},
    "part": {"en": "Part", "ja": "区分", "fil": "Bahagi"},
    "no_ceilings": {"en": "No ceilings apply.", "ja": "上限額の定めなし",
                    "fil": "Walang hangganang umiiral."},
    "nothing": {"en": "Nothing to report.", "ja": "該当なし", "fil": "Walang maiuulat."},
    "generated": {"en": "Generated", "ja": "作成日時", "fil": "Ginawa"},
    "all_agreements": {"en": "all agreements", "ja": "全協定", "fil": "lahat ng kasunduan"},
    "kind": {"en": "Supply or service", "ja": "物品・役務", "fil": "Kagamitan o serbisyo"},
    "entry_kind": {"en": "Movement", "ja": "取引種別", "fil": "Galaw"},
    "summary": {"en": "Summary", "ja": "概要", "fil": "Buod"},
    # what a ledger entry of each kind is, in the users' words
    "mv_claim": {"en": "Claim raised", "ja": "請求発生", "fil": "Singil na itinaas"},
    "mv_payment": {"en": "Payment", "ja": "支払", "fil": "Bayad"},
    "mv_return": {"en": "Return in kind", "ja": "現品返還", "fil": "Pagbabalik ng kapalit"},
    "mv_exchange": {"en": "Equal-value exchange", "ja": "同価値交換",
                    "fil": "Palitan ng katumbas"},
    "mv_offset": {"en": "Offset", "ja": "相殺", "fil": "Pagtutuos"},
    "mv_conversion": {"en": "Conversion to cash", "ja": "現金債務への転換",
                      "fil": "Pag-convert sa salapi"},
    "mv_reversal": {"en": "Reversal", "ja": "取消仕訳", "fil": "Pagbaligtad"},
    "supplies": {"en": "Supplies", "ja": "物品", "fil": "Kagamitan"},
    "services": {"en": "Services", "ja": "役務", "fil": "Serbisyo"},
    "total_part": {"en": "Total", "ja": "合計", "fil": "Kabuuan"},
}


def text(key: str, lang: str) -> str:
    """One language's caption: this module's table first, then `labels.TEXT`."""
    table = TEXT if key in TEXT else labels.TEXT
    return labels.label(table, key, lang)


def both(key: str, lang: str) -> str:
    """'English / other' (English alone for `en`)."""
    table = TEXT if key in TEXT else labels.TEXT
    return labels.both(table, key, lang)


def category(code: str | None, lang: str) -> str:
    if not code:
        return "-"
    return labels.both(labels.CATEGORIES, code, lang)


def kind(code: str | None, lang: str) -> str:
    if not code:
        return "-"
    return labels.both(labels.KINDS, code, lang)


def state(code: str, lang: str) -> str:
    return labels.both(labels.STATES, code, lang)


def movement(kind_code: str, lang: str) -> str:
    key = f"mv_{kind_code}"
    return both(key, lang) if key in TEXT else kind_code
