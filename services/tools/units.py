"""unit_convert with pint. The registry is built once per process (it takes ~0.3 s) and
computes in Decimal, so 212 °F is exactly 100 °C rather than 100.00000000000006."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

import pint
from pydantic import Field

from services.tools.registry import Result, Tool, ToolArgs, ToolError

UNITS: pint.UnitRegistry[Decimal] = pint.UnitRegistry(non_int_type=Decimal)
SIGNIFICANT_DIGITS = 15
_ALIASES = {"℃": "degC", "℉": "degF", "°c": "degC", "°f": "degF"}


class UnitConvertArgs(ToolArgs):
    value: float = Field(allow_inf_nan=False, description="Quantity to convert.")
    from_unit: str = Field(
        min_length=1,
        max_length=60,
        description="Unit of value, pint syntax: 'km/h', 'degF', 'kWh', 'mile', 'lb', 'GiB'.",
    )
    to_unit: str = Field(
        min_length=1, max_length=60, description="Target unit of the same dimension, e.g. 'degC'."
    )


def _unit(text: str, argument: str) -> Any:
    name = _ALIASES.get(text.strip().lower(), text.strip())
    try:
        return UNITS.parse_units(name)
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError):
        raise ToolError(f"unknown unit {text!r}", argument) from None


def _rounded(magnitude: Decimal) -> Decimal:
    """Cut the Decimal noise of non-terminating factors like 5/9 past 15 digits."""
    return Decimal(f"{magnitude:.{SIGNIFICANT_DIGITS}g}")


def unit_convert(args: UnitConvertArgs) -> Result:
    source = _unit(args.from_unit, "from_unit")
    target = _unit(args.to_unit, "to_unit")
    try:
        converted = UNITS.Quantity(Decimal(repr(args.value)), source).to(target)
        magnitude = _rounded(Decimal(converted.magnitude))
    except pint.errors.DimensionalityError:
        raise ToolError(
            f"cannot convert {args.from_unit!r} to {args.to_unit!r}: different dimensions",
            "to_unit",
        ) from None
    except (pint.errors.PintError, InvalidOperation, OverflowError) as exc:
        raise ToolError(f"conversion failed: {exc}", "to_unit") from None
    value = float(magnitude)
    if not math.isfinite(value):
        raise ToolError("the converted value is beyond the float range", "value")
    if value.is_integer() and abs(value) < 2**53:
        shown = str(int(value))
    else:
        shown = format(magnitude.normalize(), "f") if abs(value) >= 1e-6 else repr(value)
    return {
        "value": args.value,
        "from_unit": args.from_unit,
        "to_unit": args.to_unit,
        "result": value,
        "text": f"{args.value:g} {args.from_unit} = {shown} {args.to_unit}",
    }


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "unit_convert",
        "Convert a quantity between units of the same dimension with pint: length, mass, "
        "time, speed, temperature (degC, degF, kelvin), energy, data sizes and more.",
        UnitConvertArgs,
        unit_convert,
        returns={
            "value": (int | float, ...),
            "from_unit": (str, ...),
            "to_unit": (str, ...),
            "result": (int | float, ...),
            "text": (str, ...),
        },
        exact=("result",),
    ),
)
