"""Money questions for decimal_finance, which works on decimal strings and never floats:
compound and simple interest ("10000 at 5% compounded monthly for 3 years"), a loan's
level payment and its schedule ("Monthly payment on a 250000 loan at 4.5% over 30
years"), VAT added or taken out ("Add 19% VAT to 100", "Remove 20% VAT from 120"), and
sums and percentages of amounts marked as money ("$19.99 + $5.01", "15% of $80").

Rates are read as yearly unless the question says per month; the tool takes the rate per
period, so a yearly rate is divided by the periods in a year. When that division does not
end (5 % / 12), the rate is rounded to the tool's 18 decimals: an error below 1e-18 per
period, far under a cent for any amount the tool accepts."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal

from services.planner.precision.call import ToolCall, first_call
from services.planner.precision.words import (
    COMMON_FILLER,
    NUMBER,
    clean,
    digits_for_words,
    only_filler,
    vocabulary,
)

_PER_YEAR = {
    "annually": 1,
    "annual": 1,
    "yearly": 1,
    "year": 1,
    "semi-annually": 2,
    "semiannually": 2,
    "semi-annual": 2,
    "half-yearly": 2,
    "quarterly": 4,
    "quarter": 4,
    "monthly": 12,
    "month": 12,
    "weekly": 52,
    "week": 52,
    "daily": 365,
    "day": 365,
}
_FREQUENCY = "|".join(sorted(map(re.escape, _PER_YEAR), key=len, reverse=True))
_SIGNS = {"$": 2, "€": 2, "£": 2, "¥": 0}
_CODES = r"usd|eur|gbp|chf|cad|aud|jpy|yen|dollars?|euros?|pounds?|francs?"
_AMOUNT = re.compile(
    rf"(?:\b(?P<code_before>usd|eur|gbp|chf|cad|aud|jpy)\s*)?(?P<sign>[$€£¥])?\s*"
    rf"(?P<value>{NUMBER})(?:\s*(?P<code>{_CODES})\b)?",
    re.IGNORECASE,
)
_RATE = re.compile(
    rf"(?:(?:an?\s+)?(?:interest\s+)?rate\s+of\s+)?(?P<rate>{NUMBER})\s*(?:%|percent\b|per\s*cent\b)"
    r"(?:\s*(?P<monthly>(?:per|a|each)\s+month|monthly)\b"
    r"|\s*(?:apr|p\.?a\.?|per\s+annum|(?:per|a)\s+year|annual(?:ly)?|yearly)\b)?"
    r"(?:\s+(?:annual\s+|yearly\s+)?(?:interest|rate|apr)\b)?",
    re.IGNORECASE,
)
_TERM = re.compile(
    r"(?:\b(?:for|over|in|after|during)\s+)?(?P<count>\d{1,4})[\s-]+(?P<unit>years?|months?)\b",
    re.IGNORECASE,
)
_COMPOUNDING = re.compile(
    rf"\b(?:compounded|compounding)\s+(?P<f1>{_FREQUENCY})\b|\b(?P<f2>{_FREQUENCY})\s+compounding\b",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(rf"(?P<n>{NUMBER})\s*(?P<scale>k|thousand|million|mn)\b", re.IGNORECASE)
_MONEY_FILLER = COMMON_FILLER + vocabulary(
    "on a an of at over for with in to my your i if me much how will would be is do does "
    "the loan mortgage principal borrowed borrowing borrow invested invest investment "
    "deposit deposited saved savings account amount balance total final sum"
)


def _plain(value: str) -> str | None:
    """A number as the plain decimal string the tool takes, or None if it takes no such."""
    text = value.replace(",", "").lstrip("+")
    return text if re.fullmatch(r"-?\d{1,24}(?:\.\d{1,18})?", text) else None


def _per_period(rate: str, periods_per_year: int) -> str:
    exact = Decimal(rate) / periods_per_year
    rounded = exact.quantize(Decimal(1).scaleb(-18), rounding=ROUND_HALF_EVEN)
    text = format(rounded.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _scaled(text: str) -> str:
    """'250k' and '2.5 million' as digits; any other number word is read by the caller."""
    factors = {"k": 1000, "thousand": 1000, "million": 10**6, "mn": 10**6}

    def spelled(found: re.Match[str]) -> str:
        value = Decimal(found.group("n").replace(",", "")) * factors[found.group("scale").lower()]
        return format(value.normalize(), "f")

    return _THOUSANDS.sub(spelled, text)


class _Question:
    """The question's slots, cut out one by one; what is left must be filler."""

    def __init__(self, question: str) -> None:
        self.rest = clean(digits_for_words(_scaled(question)))

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.search(self.rest)
        if found is not None:
            self.rest = f"{self.rest[: found.start()]} {self.rest[found.end() :]}"
        return found

    def take_words(self, words: str) -> bool:
        self.rest, count = re.subn(rf"\b(?:{words})\b", " ", self.rest, flags=re.IGNORECASE)
        return count > 0

    def only(self, *phrases: str) -> bool:
        """Whether all that is left is filler: no number, and no operator but '+'."""
        if re.search(r"[-*/\u00d7\u00f7=^%<>()]", self.rest):
            return False
        return only_filler(self.rest, _MONEY_FILLER + vocabulary(*phrases))


def _rate_and_term(question: _Question) -> tuple[str, int] | None:
    """The yearly rate (a rate per month times 12) and the months of the term."""
    rate, term = question.take(_RATE), question.take(_TERM)
    if rate is None or term is None or _plain(rate.group("rate")) is None:
        return None
    count = int(term.group("count"))
    months = count * (12 if term.group("unit").lower().startswith("year") else 1)
    yearly = Decimal(rate.group("rate").replace(",", "")) * (12 if rate.group("monthly") else 1)
    return format(yearly.normalize(), "f"), months


def _periodic(
    operation: str, amount: tuple[str, int], yearly: str, per_year: int, periods: int
) -> ToolCall:
    """An interest or loan call: the yearly rate divided per period."""
    args = {
        "operation": operation,
        "amount": amount[0],
        "rate": _per_period(yearly, per_year),
        "periods": periods,
        "scale": amount[1],
    }
    return ToolCall("decimal_finance", args, "finance")


def _one_amount(question: _Question) -> tuple[str, int] | None:
    """The one amount left in the question, and its currency's decimals."""
    found = question.take(_AMOUNT)
    if found is None or re.search(r"\d", question.rest):
        return None
    value = _plain(found.group("value"))
    return None if value is None else (value, _decimals(found))


def _decimals(amount: re.Match[str]) -> int:
    """The decimals of the amount's currency: none for yen, else cents."""
    code = amount.group("code") or amount.group("code_before") or ""
    yen = amount.group("sign") == "¥" or code.lower() in ("jpy", "yen")
    return 0 if yen else 2


def _periods(months: int, per_year: int) -> int | None:
    periods, remainder = divmod(months * per_year, 12)
    return periods if remainder == 0 and 1 <= periods <= 1200 else None


def _interest(text: str) -> ToolCall | None:
    question = _Question(text)
    compounding = question.take(_COMPOUNDING)
    simple = question.take_words(r"simple\s+interest|simple")
    compound = question.take_words(r"compound\s+interest|compound")
    terms = _rate_and_term(question)
    if (compounding is not None or compound) == simple or terms is None:
        return None
    yearly, months = terms
    per_year = 1
    if compounding is not None:
        per_year = _PER_YEAR[(compounding.group("f1") or compounding.group("f2")).lower()]
    elif simple and months % 12:
        per_year = 12  # simple interest over months: a monthly rate, as many periods
    amount = _one_amount(question)
    periods = _periods(months, per_year)
    if (
        amount is None
        or periods is None
        or not question.only(
            "interest earned earn grow grows become worth future value after at rate"
        )
    ):
        return None
    operation = "simple_interest" if simple else "compound_interest"
    return _periodic(operation, amount, yearly, per_year, periods)


_PAYMENT = re.compile(
    rf"\b(?P<often>{_FREQUENCY})\s+(?:re)?payments?\b|\b(?:re)?payments?\s+(?:per|a|each)\s+"
    rf"(?P<often2>{_FREQUENCY})\b|\b(?:per|a|each)\s+(?P<often3>month|year|quarter|week)\b",
    re.IGNORECASE,
)


def _loan(text: str) -> ToolCall | None:
    question = _Question(text)
    schedule = question.take_words(r"amorti[sz]ation(?:\s+schedule|\s+table)?|schedule")
    payment = question.take(_PAYMENT)
    if payment is None:
        return None
    often = payment.group("often") or payment.group("often2") or payment.group("often3")
    terms = _rate_and_term(question)
    if terms is None or not re.search(r"\b(?:loan|mortgage|borrow\w*)\b", text, re.I):
        return None
    yearly, months = terms
    per_year = _PER_YEAR[often.lower()]
    amount = _one_amount(question)
    periods = _periods(months, per_year)
    if amount is None or periods is None or not question.only("pay payment payments repay"):
        return None
    operation = "amortization" if schedule else "annuity"
    return _periodic(operation, amount, yearly, per_year, periods)


_VAT_RATE = re.compile(
    rf"(?P<rate>{NUMBER})\s*(?:%|percent\b|per\s*cent\b)\s*(?:vat|gst|sales\s+tax|tax)\b"
    rf"|\b(?:vat|gst|sales\s+tax|tax)\s+(?:of|at)\s+(?P<rate2>{NUMBER})\s*(?:%|percent\b)",
    re.IGNORECASE,
)
# Words that make the amount a gross one, to take the tax out of.
_REMOVE = (
    r"remove|take|off|excluding|excl|ex|without|before|strip|back\s+out|extract"
    r"|including|incl|inclusive"
)


def _vat(text: str) -> ToolCall | None:
    question = _Question(text)
    rate = question.take(_VAT_RATE)
    if rate is None:
        return None
    removes = question.take_words(_REMOVE)
    amount = _one_amount(question)
    value = _plain(rate.group("rate") or rate.group("rate2"))
    if (
        amount is None
        or value is None
        or not question.only(
            "add added plus with on top vat gross net price cost after from adding"
        )
    ):
        return None
    operation = "remove_vat" if removes else "add_vat"
    args = {"operation": operation, "amount": amount[0], "rate": value, "scale": amount[1]}
    return ToolCall("decimal_finance", args, "finance")


_MARKED = re.compile(rf"[$€£¥]|\b(?:{_CODES})\b", re.IGNORECASE)
_SHARE = re.compile(rf"(?P<rate>{NUMBER})\s*(?:%|percent\b)\s*(?:tip\s+)?(?:of|on)\b", re.I)


def _amounts(question: _Question) -> tuple[list[str], int] | None:
    """Every amount left in the question, and their currency's decimals."""
    found = []
    while (amount := question.take(_AMOUNT)) is not None:
        found.append(amount)
    values = [_plain(amount.group("value")) for amount in found]
    plain = [value for value in values if value is not None]
    if not plain or len(plain) < len(values):
        return None
    return plain, min(_decimals(amount) for amount in found)


def _share(text: str) -> ToolCall | None:
    """A percentage of an amount written as money ("15% of $80"): of a plain number, it
    is calculate's."""
    if _MARKED.search(text) is None:
        return None
    question = _Question(text)
    share = question.take(_SHARE)
    amounts = _amounts(question) if share is not None else None
    rate = _plain(share.group("rate")) if share is not None else None
    if amounts is None or len(amounts[0]) != 1 or rate is None or not question.only("tip"):
        return None
    args = {"operation": "percent", "amount": amounts[0][0], "rate": rate, "scale": amounts[1]}
    return ToolCall("decimal_finance", args, "finance")


def _sum(text: str) -> ToolCall | None:
    """Amounts written as money added up ("$19.99 + $5.01", "add up €12.50 and €7.25"); a
    sum of plain numbers is calculate's."""
    if _MARKED.search(text) is None:
        return None
    question = _Question(text)
    adds = question.take_words(r"plus|add\s+up|add|sum|total")
    amounts = _amounts(question)
    if (
        amounts is None
        or len(amounts[0]) < 2
        or not (adds or "+" in text)
        or not question.only("and together")
    ):
        return None
    args = {"operation": "sum", "amounts": amounts[0], "scale": amounts[1]}
    return ToolCall("decimal_finance", args, "finance")


GRAMMARS: tuple[Callable[[str], ToolCall | None], ...] = (_loan, _interest, _vat, _share, _sum)


def recognise(question: str) -> ToolCall | None:
    # Every money question has a rate, or amounts marked as money.
    if _MARKED.search(question) is None and not re.search(r"%|percent", question, re.I):
        return None
    return first_call(GRAMMARS, question)
