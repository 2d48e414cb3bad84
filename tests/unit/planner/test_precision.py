"""Precision routing: questions of every tool family, phrased as people ask them, are
recognised with exact arguments, and the real tool answers them exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import jsonschema
import pytest

from services.planner.precision import recognise, split
from services.planner.precision.words import digits_for_words
from services.tools.catalog import execute, spec_of, specs

# (question, tool, a fragment of the tool's exact answer)
PRECISE = [
    ("What is 17.5% of 2340?", "calculate", "409.5"),
    ("Compute 7.5 percent of 6360.", "calculate", "477"),
    ("45 is what percent of 180?", "calculate", "25"),
    ("Increase 200 by 15%", "calculate", "230"),
    ("What is twelve times seven?", "calculate", "84"),
    ("What is one hundred and five divided by five?", "calculate", "21"),
    ("What is the square root of 144?", "calculate", "12"),
    ("What is 3 to the power of 4?", "calculate", "81"),
    ("Subtract 17 from 60", "calculate", "43"),
    ("How many days between 2024-01-01 and 2024-12-25?", "date_diff", "359"),
    ("How many days are there from March 1, 2023 to 1 April 2023?", "date_diff", "31"),
    ("What date is 90 days after 2024-03-01?", "date_add", "2024-05-30"),
    ("What is 2024-01-31 plus 1 month?", "date_add", "2024-02-29"),
    ("What was the date 3 weeks before June 10, 2025?", "date_add", "2025-05-20"),
    ("Which weekday is 1997-08-07?", "day_of_week", "Thursday"),
    ("What day of the week was July 4, 1776?", "day_of_week", "Thursday"),
    ("Convert 98 km/h to m/s.", "unit_convert", "27.2"),
    ("How many feet are in 3 miles?", "unit_convert", "15840"),
    ("What is 100 degrees Fahrenheit in Celsius?", "unit_convert", "37.7"),
    ("Convert 60 miles per hour to km/h", "unit_convert", "96.56"),
    ("What is the mean of 3, 5, 7, 9?", "statistics_calc", "6"),
    ("Median and standard deviation of [2, 4, 4, 4, 5, 5, 7, 9]", "statistics_calc", "4.5"),
    ("What is the MD5 hash of 'hello'?", "hash_text", "5d41402abc4b2a76b9719d911017c592"),
    (
        "sha256 of abc",
        "hash_text",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    ('Base64 encode "hello world"', "base64_codec", "aGVsbG8gd29ybGQ="),
    ("Decode the base64 aGVsbG8gd29ybGQ=", "base64_codec", "hello world"),
    ("What is 1994 in Roman numerals?", "roman_numeral", "MCMXCIV"),
    ("What number is MCMXCIV?", "roman_numeral", "1994"),
    ("What is the prime factorization of 360?", "prime_factorize", "2^3"),
    ("Factorize 1001", "prime_factorize", "13"),
    ("What is the GCD of 48 and 18?", "gcd_lcm", "6"),
    ("Least common multiple of 4, 6 and 10", "gcd_lcm", "60"),
    ("How many usable hosts are in 10.0.0.0/22?", "subnet_calc", "1022"),
    ("What is the broadcast address of 192.168.1.0/24?", "subnet_calc", "192.168.1.255"),
    ("Solve 2x + 3 = 7", "solve_equation", "2"),
    ("Solve for x: x^2 - 4 = 0", "solve_equation", "-2"),
    ("Extract all emails from: write to a@b.com or c.d@e.org", "regex_extract", "c.d@e.org"),
    ('Find the regex /\\d+/ in "abc 123 def 45"', "regex_extract", "45"),
    ('In {"users": [{"name": "Ann"}]}, what is users[0].name?', "json_query", "Ann"),
    ('Get items[-1].price from {"items": [{"price": 3}, {"price": 7}]}', "json_query", "7"),
    ("Count the words in: The quick brown fox jumps over the lazy dog.", "text_analyze", "9"),
    ('How many words are in "to be or not to be"?', "text_analyze", "6"),
    ("What is 52 choose 5?", "exact_probability", "2598960"),
    ("How many ways are there to pick 2 cards out of 52 cards?", "exact_probability", "1326"),
    ("P(10, 3)", "exact_probability", "720"),
    ("What is 25!?", "exact_probability", "15511210043330985984000000"),
    ("Compute the factorial of twenty", "exact_probability", "2432902008176640000"),
    (
        "What time is it in Tokyo when it is 14:30 in Berlin on 2026-01-15?",
        "timezone_convert",
        "2026-01-15T22:30:00",
    ),
    (
        "Convert 9am New York time to London time on July 4, 2026",
        "timezone_convert",
        "2026-07-04T14:00:00",
    ),
    ("3:15 pm UTC in Asia/Tokyo", "timezone_convert", "T00:15:00"),
    (
        "When it's noon in São Paulo on 2025-06-01, what time is it in UTC+2?",
        "timezone_convert",
        "2025-06-01T17:00:00",
    ),
    (
        "What is 18:45 on 2026-03-29 in Los Angeles in Berlin time?",
        "timezone_convert",
        "2026-03-30T03:45:00",
    ),
    ("Is 2028 a leap year?", "time_facts", "'is_leap_year': True"),
    ("Was 1900 a leap year?", "time_facts", "'is_leap_year': False"),
    ("What ISO week is 2026-03-15 in?", "time_facts", "'iso_week': 11"),
    ("Which week number is January 1, 2027?", "time_facts", "'iso_week': 53"),
    ("What day of the year is 2024-12-31?", "time_facts", "'day_of_year': 366"),
    ("What quarter is 2025-08-14 in?", "time_facts", "'quarter': 3"),
    (
        "What is the Unix timestamp of 2024-01-01 12:00 in Berlin?",
        "time_facts",
        "'unix_time': 1704106800",
    ),
    (
        "How many days are left in the year after 2026-03-15?",
        "time_facts",
        "'days_left_in_year': 291",
    ),
    ("How many days are in February 2100?", "date_diff", "'days': 28"),
    ("How many days does February 2024 have?", "date_diff", "'days': 29"),
    ("How many days are in the year 2000?", "date_diff", "'days': 366"),
    ("What is 10000 at 5% compounded monthly for 3 years?", "decimal_finance", "11614.72"),
    (
        "How much will $5,000 grow to at 3.5% annual interest compounded quarterly over 10 years?",
        "decimal_finance",
        "7084.54",
    ),
    ("Compound interest on 2500 at 4% per year for 5 years", "decimal_finance", "541.63"),
    ("Simple interest on 1200 euros at 6% for 18 months", "decimal_finance", "108.00"),
    ("Monthly payment on a 250000 loan at 4.5% over 30 years", "decimal_finance", "1266.71"),
    ("How much per month is a 250k mortgage at 4.5% for 30 years?", "decimal_finance", "1266.71"),
    (
        "Amortization schedule for a 10000 loan at 5% over 2 years with monthly payments",
        "decimal_finance",
        "'period': 24",
    ),
    ("Add 19% VAT to 100", "decimal_finance", "'gross': '119.00'"),
    ("Take 20% VAT off 120", "decimal_finance", "'net': '100.00'"),
    ("What is $19.99 + $5.01 + $0.10?", "decimal_finance", "'result': '25.10'"),
    ("What is a 20% tip on $45.50?", "decimal_finance", "'result': '9.10'"),
    ("What is 1,000,000 yen at 1% compounded annually for 2 years?", "decimal_finance", "1020100"),
    (
        'Is this valid JSON: {"a": [1, 2], "b": null}',
        "structured_validate",
        "'well_formed': True",
    ),
    ("Is this valid JSON: {'a': 1}", "structured_validate", "'well_formed': False"),
    ('Is {"a": 1,} valid JSON?', "structured_validate", "'column': 9"),
    (
        "Validate this YAML:\nname: Ann\nroles:\n  - admin\n  - dev",
        "structured_validate",
        "'format': 'yaml'",
    ),
    ("Is 'a: [1, 2' valid YAML?", "structured_validate", "'well_formed': False"),
    ("Is <a><b/></a> well-formed XML?", "structured_validate", "'elements': 2"),
    ("Check this CSV:\nname,age\nAnn,31\nBob,27", "structured_validate", "'rows': 3"),
    (
        "Is this semicolon-separated CSV well formed:\na;b\n1;2",
        "structured_validate",
        "'columns': 2",
    ),
    (
        'Does {"age": 5} match the schema {"type": "object", "required": ["name"]}?',
        "structured_validate",
        "'keyword': 'required'",
    ),
]


@pytest.mark.parametrize(("question", "tool", "expected"), PRECISE)
def test_precise_question_is_routed_with_exact_arguments(
    question: str, tool: str, expected: str
) -> None:
    call = recognise(question)
    assert call is not None, question
    assert call.tool == tool
    # The arguments are the tool's own: valid against its published schema (as the
    # planner checks them), and the tool runs them and gives the exact answer.
    spec = spec_of(call.tool)
    assert spec is not None
    jsonschema.validate(call.args, spec["parameters"])
    assert expected in str(execute(call.tool, call.args))


# Symbolic math has no grammar: its questions need a model to phrase them.
NOT_ROUTED = {"symbolic_math"}


def test_every_tool_family_has_a_routed_question() -> None:
    routed = {tool for _, tool, _ in PRECISE}
    assert {spec["name"] for spec in specs()} - routed <= NOT_ROUTED


@pytest.mark.parametrize(
    "question",
    [
        "What is Kafka?",
        "What is 42?",
        "Explain why 2 + 2 = 4",
        "Convert 3 apples to pears",
        "Tell me about the history of Rome in 3 days",
        "What day is it good to plant tomatoes?",
        "Summarise the mean arguments of 3 essays",
        "How many people live in Berlin?",
        "Why is sha256 considered secure?",
        "Write a poem about 1994",
        "What is the hash of my password and why should I store it?",
        "Can frob-x treat glimmer fever? (3)",  # a number in brackets is no calculation
        "What is (12)?",
        "Why do we choose 5 from 52?",
        "Wow, 20!",
        "Why do time zones exist?",
        "What time zone is Berlin in?",
        "Is 9am in New York too early to call London?",
        "Should we meet at 3pm in Berlin or in Paris?",
        "Is it a good year to buy a house?",
        "Why is 2024 a leap year?",
        "How many leap years are there between 2000 and 2100?",
        "What happened in week 11 of 2026?",
        "Explain compound interest",
        "Is 5% a good interest rate for a 30 year mortgage?",
        "Should I pay off my 250000 loan at 4.5% early?",
        "What is 10000 at 5% for 3 years?",  # compound or simple: not said
        "Why is VAT 19% in Germany?",
        "Why did I pay $20 for a $15 book?",
        "What is JSON?",
        "Is YAML better than JSON?",
        "Is JSON valid JavaScript?",
        "Is this valid JSON?",
        'Why is my JSON not valid: {"a": 1,}',
        "Explain JSON schema",
    ],
)
def test_open_questions_are_not_routed(question: str) -> None:
    assert split(question) is None


@pytest.mark.parametrize(
    ("question", "tool", "open_part"),
    [
        (
            "Convert 98 km/h to m/s and explain why m/s is the SI unit",
            "unit_convert",
            "explain why m/s is the SI unit",
        ),
        (
            "What is the sha256 of abc? Why is hashing useful?",
            "hash_text",
            "Why is hashing useful?",
        ),
        (
            "Explain what a leap year is, then tell me which weekday is 2024-02-29",
            "day_of_week",
            "Explain what a leap year is",
        ),
        (
            "Convert 14:30 New York time to London time and explain why time zones exist",
            "timezone_convert",
            "explain why time zones exist",
        ),
        (
            "Is 2024 a leap year? Why do we have leap years at all?",
            "time_facts",
            "Why do we have leap years at all?",
        ),
        (
            "What is 10000 at 5% compounded monthly for 3 years? Explain compound interest.",
            "decimal_finance",
            "Explain compound interest.",
        ),
        (
            "Is this valid XML: <a><b></a>? Explain what went wrong.",
            "structured_validate",
            "Explain what went wrong.",
        ),
    ],
)
def test_mixed_question_splits_into_a_tool_call_and_an_open_part(
    question: str, tool: str, open_part: str
) -> None:
    found = split(question)
    assert found is not None and found.call.tool == tool
    assert found.open_part == open_part
    assert found.open_part not in found.precise_part


def test_a_clock_time_without_a_date_is_converted_on_todays_date() -> None:
    call = recognise("Convert nine am Eastern time to Pacific time")
    assert call is not None and call.tool == "timezone_convert"
    today = datetime.now(UTC).date().isoformat()
    assert call.args == {
        "time": f"{today}T09:00:00",
        "from_zone": "America/New_York",
        "to_zone": "America/Los_Angeles",
    }


def test_money_is_exact_decimal_text_and_plain_percentages_stay_arithmetic() -> None:
    loan = recognise("What is the monthly payment for a $300,000 mortgage at 6.5% for 30 years?")
    assert loan is not None and loan.args["amount"] == "300000"
    # 6.5 % a year is 0.541666... % a month: rounded to the tool's 18 decimals.
    assert loan.args["rate"] == "0.541666666666666667" and loan.args["periods"] == 360
    plain = recognise("What is 15% of 80?")
    assert plain is not None and plain.tool == "calculate"


def test_number_words_join_only_after_scale_words() -> None:
    assert digits_for_words("the sum of three and four") == "the sum of 3 and 4"
    assert digits_for_words("one hundred and five, twenty-one") == "105, 21"
