"""Canonical JSON and JSON signing against the Matrix specification's own examples (appendices,
"Canonical JSON" examples and the "JSON Signing" test vectors with the fixed seed), copied from
the spec text (matrix-org/matrix-spec, content/appendices.md)."""

from __future__ import annotations

import json

import pytest

from adapters.matrix.canonical_json import (
    CanonicalJSONError,
    SigningKey,
    canonical_json,
    sign_json,
    unpadded_b64decode,
    verify_json,
)

# (input as the spec prints it, canonical output as the spec prints it)
CANONICAL_EXAMPLES = [
    ("{}", "{}"),
    ('{\n    "one": 1,\n    "two": "Two"\n}', '{"one":1,"two":"Two"}'),
    ('{\n    "b": "2",\n    "a": "1"\n}', '{"a":"1","b":"2"}'),
    ('{"b":"2","a":"1"}', '{"a":"1","b":"2"}'),
    (
        """{
    "auth": {
        "success": true,
        "mxid": "@john.doe:example.com",
        "profile": {
            "display_name": "John Doe",
            "three_pids": [
                {
                    "medium": "email",
                    "address": "john.doe@example.org"
                },
                {
                    "medium": "msisdn",
                    "address": "123456789"
                }
            ]
        }
    }
}""",
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":'
        '[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},'
        '"success":true}}',
    ),
    ('{\n    "a": "日本語"\n}', '{"a":"日本語"}'),
    ('{\n    "本": 2,\n    "日": 1\n}', '{"日":1,"本":2}'),
    ('{\n    "a": "\\u65E5"\n}', '{"a":"日"}'),
    ('{\n    "a": null\n}', '{"a":null}'),
    ('{\n    "a": -0,\n    "b": 1e10\n}', '{"a":0,"b":10000000000}'),
]

SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"


@pytest.mark.parametrize(("given", "expected"), CANONICAL_EXAMPLES)
def test_the_specifications_canonical_json_examples(given: str, expected: str) -> None:
    assert canonical_json(json.loads(given)) == expected.encode("utf-8")


def test_what_canonical_json_cannot_hold_is_refused() -> None:
    for bad in ({"a": 1.5}, {"a": 2**53}, {"a": -(2**53)}, {"a": float("nan")}, {1: "x"}):
        with pytest.raises(CanonicalJSONError):
            canonical_json(bad)
    assert canonical_json({"a": 2**53 - 1, "b": -(2**53) + 1}) == b'{"a":9007199254740991,"b":-9007199254740991}'
    # Control characters escaped as the grammar allows, nothing else escaped.
    assert canonical_json({"a": "\n\x01\x7f/é"}) == '{"a":"\\n\\u0001\x7f/é"}'.encode()


def test_the_specifications_json_signing_vectors() -> None:
    key = SigningKey(unpadded_b64decode(SPEC_SEED))
    assert sign_json({}, key, "domain", "1") == {
        "signatures": {
            "domain": {
                "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
            }
        }
    }
    assert sign_json({"one": 1, "two": "Two"}, key, "domain", "1") == {
        "one": 1,
        "signatures": {
            "domain": {
                "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
            }
        },
        "two": "Two",
    }


def test_signatures_and_unsigned_are_outside_the_signature_and_kept() -> None:
    key = SigningKey(unpadded_b64decode(SPEC_SEED))
    given = {
        "one": 1,
        "two": "Two",
        "unsigned": {"age_ts": 922834800000},
        "signatures": {"someone": {"ed25519:X": "kept"}},
    }
    signed = sign_json(given, key, "domain", "1")
    # The same signature as the spec's vector for {"one": 1, "two": "Two"}.
    assert signed["signatures"]["domain"]["ed25519:1"].startswith("KqmLSbO39")
    assert signed["signatures"]["someone"] == {"ed25519:X": "kept"} and signed["unsigned"] == given["unsigned"]
    assert "domain" not in given["signatures"]  # the caller's object is left as it was
    assert verify_json(signed, "domain", "1", key.public_key)
    assert not verify_json({**signed, "two": "Three"}, "domain", "1", key.public_key)
    assert not verify_json(signed, "domain", "2", key.public_key)
    assert SPEC_SEED not in repr(key)
