"""decimal_finance: money arithmetic on decimal strings, never floats. Every amount is
rounded to the currency's scale with the caller's rounding mode (banker's rounding,
half-even, unless told otherwise), and an amortisation schedule pays back exactly the
principal: its last instalment absorbs the rounding of the others."""

from __future__ import annotations

import re
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from services.tools.registry import Result, Tool, ToolArgs, ToolError

Operation = Literal[
    "sum",
    "percent",
    "add_vat",
    "remove_vat",
    "simple_interest",
    "compound_interest",
    "annuity",
    "amortization",
]
Rounding = Literal["half_even", "half_up", "half_down", "down", "up", "ceiling", "floor"]
ROUNDING_MODES: dict[Rounding, str] = {
    "half_even": ROUND_HALF_EVEN,
    "half_up": ROUND_HALF_UP,
    "half_down": ROUND_HALF_DOWN,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
    "ceiling": ROUND_CEILING,
    "floor": ROUND_FLOOR,
}
MAX_PERIODS = 1200
MAX_SCHEDULE = 600  # rows of an amortisation schedule
# Plain decimals only: an exponent ('1e999999') would let a short string name a huge number.
_DECIMAL_TEXT = r"^[+-]?\d{1,24}(\.\d{1,18})?$"
_DECIMAL = re.compile(_DECIMAL_TEXT)


def _decimal(value: Any) -> Any:
    if isinstance(value, bool | float):
        raise ValueError("give amounts as decimal strings such as '19.99', never as floats")
    text = str(value).strip() if isinstance(value, int | str) else value
    if isinstance(text, str) and not _DECIMAL.fullmatch(text):
        raise ValueError("not a plain decimal such as '1234.56' (24 digits, 18 decimals at most)")
    return Decimal(text) if isinstance(text, str) else text


Money = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_TEXT}),
]


class FinanceArgs(ToolArgs):
    operation: Operation = Field(
        description=(
            "sum (amounts); percent (rate % of amount); add_vat (net amount -> gross); "
            "remove_vat (gross amount -> net); simple_interest and compound_interest "
            "(amount, rate per period, periods); annuity (level loan payment) and "
            "amortization (its schedule)."
        )
    )
    amount: Money | None = Field(default=None, description="Principal, net or gross amount.")
    amounts: list[Money] | None = Field(
        default=None, max_length=1000, description="Amounts to add (operation 'sum')."
    )
    rate: Money | None = Field(
        default=None, description="Percent per period, e.g. '19' for 19 % VAT, '0.5' monthly."
    )
    periods: int | None = Field(default=None, ge=1, le=MAX_PERIODS, description="Periods.")
    scale: int = Field(default=2, ge=0, le=8, description="Decimals of the currency (JPY 0).")
    rounding: Rounding = Field(default="half_even", description="How amounts are rounded.")


class ScheduleRow(BaseModel):
    period: int
    payment: str
    interest: str
    principal: str
    balance: str


def _need(value: Any, argument: str, operation: str) -> Any:
    if value is None:
        raise ToolError(f"{operation} needs {argument}", argument)
    return value


class _Money:
    """Rounding to the currency's scale, the one way every amount here is rounded."""

    def __init__(self, args: FinanceArgs) -> None:
        self.step = Decimal(1).scaleb(-args.scale)
        self.mode = ROUNDING_MODES[args.rounding]

    def round(self, value: Decimal) -> Decimal:
        return value.quantize(self.step, rounding=self.mode)

    def text(self, value: Decimal) -> str:
        return str(self.round(value))


def _vat(args: FinanceArgs, money: _Money) -> Result:
    amount = _need(args.amount, "amount", args.operation)
    rate = _need(args.rate, "rate", args.operation) / 100
    if args.operation == "add_vat":
        net = money.round(amount)
        vat = money.round(net * rate)
        gross = net + vat
        return {"result": str(gross), "net": str(net), "vat": str(vat), "gross": str(gross)}
    gross = money.round(amount)
    net = money.round(gross / (1 + rate))
    vat = gross - net
    return {"result": str(net), "net": str(net), "vat": str(vat), "gross": str(gross)}


def _interest(args: FinanceArgs, money: _Money) -> Result:
    principal = money.round(_need(args.amount, "amount", args.operation))
    rate = _need(args.rate, "rate", args.operation) / 100
    periods = _need(args.periods, "periods", args.operation)
    if args.operation == "simple_interest":
        interest = money.round(principal * rate * periods)
    else:
        interest = money.round(principal * (1 + rate) ** periods - principal)
    total = principal + interest
    return {"result": str(total), "interest": str(interest), "total": str(total)}


def _payment(principal: Decimal, rate: Decimal, periods: int) -> Decimal:
    if rate == 0:
        return principal / periods
    return principal * rate / (1 - (1 + rate) ** -periods)


def _schedule(
    principal: Decimal, rate: Decimal, periods: int, payment: Decimal, money: _Money
) -> list[dict[str, Any]]:
    rows, balance = [], principal
    for period in range(1, periods + 1):
        interest = money.round(balance * rate)
        repaid = balance if period == periods else min(payment - interest, balance)
        balance -= repaid
        row = ScheduleRow(
            period=period,
            payment=str(repaid + interest),
            interest=str(interest),
            principal=str(repaid),
            balance=str(balance),
        )
        rows.append(row.model_dump())
    return rows


def _loan(args: FinanceArgs, money: _Money) -> Result:
    principal = money.round(_need(args.amount, "amount", args.operation))
    rate = _need(args.rate, "rate", args.operation) / 100
    periods = _need(args.periods, "periods", args.operation)
    if principal <= 0:
        raise ToolError("the loan amount must be positive", "amount")
    if rate <= -1:
        raise ToolError("the rate must be above -100 %", "rate")
    payment = money.round(_payment(principal, rate, periods))
    if args.operation == "annuity":
        total = payment * periods
        return {
            "result": str(payment),
            "payment": str(payment),
            "total_paid": str(total),
            "total_interest": str(total - principal),
        }
    if periods > MAX_SCHEDULE:
        raise ToolError(f"a schedule has at most {MAX_SCHEDULE} periods", "periods")
    rows = _schedule(principal, rate, periods, payment, money)
    total = sum((Decimal(row["payment"]) for row in rows), Decimal(0))
    return {
        "result": str(payment),
        "payment": str(payment),
        "total_paid": str(total),
        "total_interest": str(total - principal),
        "schedule": rows,
    }


def _compute(args: FinanceArgs, money: _Money) -> Result:
    if args.operation == "sum":
        amounts = _need(args.amounts, "amounts", "sum")
        total = money.round(sum(amounts, Decimal(0)))
        return {"result": str(total), "count": len(amounts)}
    if args.operation == "percent":
        amount = _need(args.amount, "amount", "percent")
        return {"result": money.text(amount * _need(args.rate, "rate", "percent") / 100)}
    if args.operation in ("add_vat", "remove_vat"):
        return _vat(args, money)
    if args.operation in ("simple_interest", "compound_interest"):
        return _interest(args, money)
    return _loan(args, money)


def decimal_finance(args: FinanceArgs) -> Result:
    money = _Money(args)
    # 50 significant digits carry every intermediate far past any currency's scale; an
    # overflow (a huge rate compounded for many periods) is an error, not an infinity.
    context = Context(prec=50, Emax=10_000, Emin=-10_000, traps=[InvalidOperation, Overflow])
    context.traps[DivisionByZero] = True
    try:
        with localcontext(context):
            result = _compute(args, money)
    except (Overflow, InvalidOperation):
        raise ToolError("the amounts grow beyond what can be computed exactly", "rate") from None
    except DivisionByZero:
        raise ToolError("division by zero (a rate of -100 %?)", "rate") from None
    return {
        "operation": args.operation,
        "scale": args.scale,
        "rounding": args.rounding,
        **result,
    }


_AMOUNT = (str | None, None)
TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "decimal_finance",
        "Exact money arithmetic on decimal strings with a currency scale and rounding mode "
        "(half_even default): sums, percentages, VAT added or removed, simple and compound "
        "interest, loan annuity payment and amortisation schedule. Never floats.",
        FinanceArgs,
        decimal_finance,
        returns={
            "operation": (str, ...),
            "scale": (int, ...),
            "rounding": (str, ...),
            "result": (str, ...),
            "count": (int | None, None),
            "net": _AMOUNT,
            "vat": _AMOUNT,
            "gross": _AMOUNT,
            "interest": _AMOUNT,
            "total": _AMOUNT,
            "payment": _AMOUNT,
            "total_paid": _AMOUNT,
            "total_interest": _AMOUNT,
            "schedule": (list[ScheduleRow] | None, None),
        },
        exact=("result", "vat", "interest", "total_interest"),
    ),
)
