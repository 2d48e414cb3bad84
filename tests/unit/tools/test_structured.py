"""structured_validate: well-formed or not with the error's position, JSON Schema
validation, dangerous constructs refused, and the payload never echoed back."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.unit.tools.helpers import call, fails

SECRET = "s3cr3t-payload-value"


def test_json_summary_hash_and_no_echo() -> None:
    text = json.dumps({"user": SECRET, "tags": [1, 2, {"deep": None}]})
    result = call("structured_validate", format="json", text=text)
    assert (result["well_formed"], result["valid"]) == (True, True)
    assert result["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert result["summary"] == {
        "top_level": "object",
        "objects": 2,
        "arrays": 1,
        "keys": 3,
        "scalars": 4,
        "depth": 4,
    }
    assert SECRET not in json.dumps(result)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "[-Infinity]"])
def test_json_has_no_nan_or_infinity(constant: str) -> None:
    result = call("structured_validate", format="json", text=constant)
    assert result["well_formed"] is False and "not a JSON value" in result["error"]["message"]


def test_malformed_json_gives_line_and_column() -> None:
    result = call("structured_validate", format="json", text='{\n  "a": 1,\n  "b": }')
    assert (result["well_formed"], result["valid"]) == (False, False)
    assert (result["error"]["line"], result["error"]["column"]) == (3, 8)


def test_json_schema_errors_name_paths_not_values() -> None:
    schema = {
        "type": "object",
        "properties": {"age": {"type": "integer", "minimum": 0}, "name": {"$ref": "#/$defs/n"}},
        "required": ["age", "name"],
        "$defs": {"n": {"type": "string", "maxLength": 3}},
    }
    ok = call(
        "structured_validate", format="json", text='{"age": 3, "name": "ab"}', json_schema=schema
    )
    assert (ok["valid"], ok["schema_errors"]) == (True, [])
    text = json.dumps({"age": -1, "name": SECRET})
    bad = call("structured_validate", format="json", text=text, json_schema=schema)
    assert bad["valid"] is False
    assert sorted(bad["schema_errors"], key=lambda e: e["path"]) == [
        {"path": "$.age", "keyword": "minimum"},
        {"path": "$.name", "keyword": "maxLength"},
    ]
    assert SECRET not in json.dumps(bad)


def test_yaml_is_checked_against_a_schema_too() -> None:
    result = call(
        "structured_validate",
        format="yaml",
        text="name: app\nreplicas: two\n",
        json_schema={"properties": {"replicas": {"type": "integer"}}},
    )
    assert (result["well_formed"], result["valid"]) == (True, False)
    assert result["schema_errors"] == [{"path": "$.replicas", "keyword": "type"}]


def test_malformed_yaml_xml_and_csv_positions() -> None:
    yaml_error = call("structured_validate", format="yaml", text="a: [1, 2\nb: 3\n")["error"]
    assert yaml_error["line"] == 2
    xml_error = call("structured_validate", format="xml", text="<a>\n<b></a>")["error"]
    assert (xml_error["line"], xml_error["column"]) == (2, 6)
    csv_result = call("structured_validate", format="csv", text='a,b\n"x,1\n')
    assert csv_result["well_formed"] is False and csv_result["error"]["line"] is not None


def test_xml_and_csv_summaries() -> None:
    xml = call("structured_validate", format="xml", text='<r><i k="1">t</i><i/></r>')
    assert xml["summary"] == {"elements": 3, "attributes": 1, "text_nodes": 1, "depth": 2}
    table = call("structured_validate", format="csv", text="a;b\n1;2\n\n3\n", delimiter=";")
    assert table["summary"] == {"rows": 3, "columns": 2, "consistent": False, "empty_rows": 1}


BILLION_LAUGHS_YAML = "a: &a ['lol','lol']\nb: &b [*a,*a]\nc: &c [*b,*b]\n"
BILLION_LAUGHS_XML = (
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;">]><l>&l2;</l>'
)
EXTERNAL_ENTITY = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
XINCLUDE = '<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></r>'


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("yaml", BILLION_LAUGHS_YAML, "aliases"),
        ("yaml", "a: !!python/object/apply:os.system ['true']", "tags"),
        ("yaml", "a: !custom 1", "tags"),
        ("xml", BILLION_LAUGHS_XML, "refused XML"),
        ("xml", EXTERNAL_ENTITY, "refused XML"),
        ("xml", XINCLUDE, "XInclude"),
    ],
)
def test_dangerous_constructs_are_refused(fmt: str, text: str, message: str) -> None:
    error = fails("structured_validate", format=fmt, text=text)
    assert error.argument == "text" and message in error.message


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "https://example.com/schema.json"},
        {"properties": {"a": {"$ref": "file:///etc/passwd"}}},
        {"$dynamicRef": "other.json#meta"},
    ],
)
def test_references_outside_the_schema_are_refused(schema: dict[str, object]) -> None:
    error = fails("structured_validate", format="json", text="{}", json_schema=schema)
    assert error.argument == "json_schema" and "inside the schema" in error.message


def test_a_schema_for_xml_and_an_invalid_schema_are_refused() -> None:
    assert fails("structured_validate", format="xml", text="<a/>", json_schema={}).argument == (
        "json_schema"
    )
    error = fails("structured_validate", format="json", text="{}", json_schema={"type": 12})
    assert error.argument == "json_schema" and "not a valid JSON Schema" in error.message


def test_a_dangling_local_reference_is_an_error() -> None:
    schema = {"$ref": "#/$defs/missing"}
    error = fails("structured_validate", format="json", text="{}", json_schema=schema)
    assert error.argument == "json_schema" and "unresolvable" in error.message
