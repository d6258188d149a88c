"""Digest authentication against the RFC test vectors (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trunkline.sip import Credentials, SipParseError
from trunkline.sip.digest import (
    Challenge,
    build_authorization,
    compute_response,
    parse_challenge,
    select_challenge,
)
from trunkline.sip.message import parse_params

# RFC 7616 §3.9.1 (note: "Circle of Life" here, "Circle Of Life" in RFC 2617 §3.5).
RFC7616 = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "qop": "auth",
    "nc": "00000001",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
}


def test_rfc2617_section_3_5_vector() -> None:
    response = compute_response(
        algorithm="MD5",
        username="Mufasa",
        realm="testrealm@host.com",
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_vectors(algorithm: str, expected: str) -> None:
    assert compute_response(algorithm=algorithm, **RFC7616) == expected


def test_build_authorization_matches_vector_and_quotes_fields() -> None:
    challenge = parse_challenge(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    value = build_authorization(
        challenge,
        username="Mufasa",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        nc=1,
        cnonce=RFC7616["cnonce"],
    )
    assert value.startswith("Digest ")
    params = parse_params(value.removeprefix("Digest "), sep=",")
    assert params["response"] == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )
    assert params["qop"] == "auth"
    assert params["nc"] == "00000001"
    assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
    assert params["algorithm"] == "SHA-256"


def test_rfc2069_without_qop_has_no_cnonce_or_nc() -> None:
    challenge = Challenge(realm="r", nonce="n")
    value = build_authorization(
        challenge, username="u", password="p", method="REGISTER", uri="sip:x"
    )
    params = parse_params(value.removeprefix("Digest "), sep=",")
    assert "cnonce" not in params and "nc" not in params and "qop" not in params
    expected = compute_response(
        algorithm="MD5", username="u", realm="r", password="p", method="REGISTER",
        uri="sip:x", nonce="n",
    )  # fmt: skip
    assert params["response"] == expected


def test_sess_and_sha512_256_variants_differ_from_plain() -> None:
    common = {k: v for k, v in RFC7616.items()}
    plain = compute_response(algorithm="SHA-256", **common)
    sess = compute_response(algorithm="SHA-256-sess", **common)
    sha512 = compute_response(algorithm="SHA-512-256", **common)
    assert len(sess) == 64 and sess != plain
    assert len(sha512) == 64 and sha512 != plain


def test_parse_challenge_fields() -> None:
    ch = parse_challenge(
        'Digest realm="siplab.test", nonce="abc", qop="auth", algorithm=SHA-256, stale=TRUE'
    )
    assert ch == Challenge(
        realm="siplab.test", nonce="abc", algorithm="SHA-256", qop=("auth",), stale=True
    )
    assert parse_challenge('Digest realm="r", nonce="n"').algorithm == "MD5"


@pytest.mark.parametrize(
    "value", ["Basic realm=x", 'Digest nonce="n"', "Digest", "", 'Digest realm="r"']
)
def test_parse_challenge_rejects(value: str) -> None:
    with pytest.raises(SipParseError):
        parse_challenge(value)


def test_select_prefers_strongest_supported() -> None:
    chosen = select_challenge(
        [
            'Basic realm="r"',
            'Digest realm="r", nonce="1", algorithm=MD5',
            'Digest realm="r", nonce="2", algorithm=SHA-256',
            'Digest realm="r", nonce="3", algorithm=UNKNOWN-HASH',
        ]
    )
    assert chosen is not None and chosen.nonce == "2"
    assert select_challenge(['Digest realm="r", nonce="3", algorithm=FOO']) is None


@given(st.text(max_size=300))
def test_parse_challenge_only_raises_parse_error(text: str) -> None:
    try:
        challenge = parse_challenge(text)
    except SipParseError:
        return
    # What parses is usable as parsed: an algorithm (absent means MD5, RFC 2617 §3.2.1) and
    # qop options already trimmed and lowercased.
    assert challenge.algorithm
    assert all(q and q == q.strip().lower() for q in challenge.qop)


def test_credentials_repr_hides_password() -> None:
    creds = Credentials("trunk1", "s3cret-pw")
    assert "s3cret-pw" not in repr(creds)
    assert "s3cret-pw" not in str(creds)
    assert "trunk1" in repr(creds)
