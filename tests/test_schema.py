"""The schema files say what they mean: no field carries a key the code does not know (an
unquoted comma in a YAML flow mapping silently turns the rest of a description into a key)."""

from __future__ import annotations

from community_alignment import schema

FIELD_KEYS = {
    "name",
    "type",
    "nullable",
    "unique",
    "description",
    "vocabulary",
    "values",
    "required",
    "free_text",
}


def test_release_fields_have_only_known_keys():
    for table in schema.table_names():
        for field in schema.fields(table):
            assert set(field) <= FIELD_KEYS, (table, field)
            assert field["description"].endswith("."), (table, field["name"])
    for name, composite in schema.load("release")["types"].items():
        for field in composite["struct"]:
            assert set(field) <= FIELD_KEYS, (name, field)


def test_raw_columns_have_only_known_keys():
    for column in schema.raw_columns():
        assert set(column) <= FIELD_KEYS | {"turn"}, column
        assert column["description"].endswith("."), column["name"]


def test_every_table_is_typed_and_derives_features():
    for table in schema.table_names():
        features = schema.features(table)
        assert list(features) == schema.field_names(table)
        assert schema.arrow_schema(table).names == schema.field_names(table)
