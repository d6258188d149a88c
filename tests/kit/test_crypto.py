"""kit/crypto: AES-GCM secret box with row-bound associated data and key rotation."""

from __future__ import annotations

import pytest

from trunkline.kit.crypto import CryptoError, SecretBox, aad_for, generate_key, key_id

AAD = aad_for("trunk", "sip_password_secret", "row-1")


@pytest.fixture
def box() -> SecretBox:
    return SecretBox.from_spec(generate_key())


class TestRoundtrip:
    # A short password, but not a 2-character one: "pw" turns up inside random base64 about
    # once a hundred runs, which made the "plaintext not in token" check fail by chance.
    @pytest.mark.parametrize("plaintext", ["s3cret-pw", "", "ünïcødé ☎", "x" * 255, "a:b:c:d"])
    def test_decrypts_what_it_encrypted(self, box: SecretBox, plaintext: str) -> None:
        token = box.encrypt(plaintext, AAD)

        assert box.decrypt(token, AAD) == plaintext
        assert plaintext not in token or plaintext == ""

    def test_format_names_version_and_key(self, box: SecretBox) -> None:
        version, kid, nonce, ct = box.encrypt("pw", AAD).split(":")

        assert (version, kid) == ("v1", box.current_kid)
        assert nonce and ct

    def test_fresh_nonce_every_time(self, box: SecretBox) -> None:
        assert box.encrypt("pw", AAD) != box.encrypt("pw", AAD)

    def test_repr_shows_no_key(self) -> None:
        spec = generate_key()
        box = SecretBox.from_spec(spec)

        assert spec.split(":")[1] not in repr(box)
        assert repr(box) == f"SecretBox(kids=['{spec.split(':')[0]}'])"


class TestAssociatedData:
    @pytest.mark.parametrize(
        "elsewhere",
        [
            aad_for("trunk", "sip_password_secret", "row-2"),  # another row
            aad_for("trunk", "sip_username_secret", "row-1"),  # another column
            aad_for("sip_connection", "sip_password_secret", "row-1"),  # another table
        ],
    )
    def test_ciphertext_moved_elsewhere_fails(self, box: SecretBox, elsewhere: str) -> None:
        token = box.encrypt("pw", AAD)

        with pytest.raises(CryptoError, match="failed authentication"):
            box.decrypt(token, elsewhere)

    def test_aad_format(self) -> None:
        assert aad_for("trunk", "sip_password_secret", 7) == "trunk.sip_password_secret:7"


class TestRotation:
    def test_old_key_still_decrypts_after_a_new_one_is_added(self) -> None:
        old_spec, new_spec = generate_key(), generate_key()
        old = SecretBox.from_spec(old_spec)
        token = old.encrypt("pw", AAD)

        rotated = SecretBox.from_spec(f"{new_spec},{old_spec}")

        assert rotated.decrypt(token, AAD) == "pw"
        assert rotated.current_kid == new_spec.split(":")[0]
        assert rotated.encrypt("pw", AAD).split(":")[1] == rotated.current_kid

    def test_needs_rotation(self) -> None:
        old_spec, new_spec = generate_key(), generate_key()
        old_token = SecretBox.from_spec(old_spec).encrypt("pw", AAD)
        rotated = SecretBox.from_spec(f"{new_spec},{old_spec}")

        assert rotated.needs_rotation(old_token)
        assert not rotated.needs_rotation(rotated.encrypt("pw", AAD))

    def test_removed_key_cannot_decrypt(self) -> None:
        token = SecretBox.from_spec(generate_key()).encrypt("pw", AAD)

        with pytest.raises(CryptoError, match="no key with id"):
            SecretBox.from_spec(generate_key()).decrypt(token, AAD)

    def test_same_key_under_another_kid_is_not_confused(self) -> None:
        spec = generate_key()
        kid, encoded = spec.split(":")
        bare = SecretBox.from_spec(encoded)  # a bare key gets its derived id

        assert bare.current_kid == kid


class TestMalformed:
    @pytest.mark.parametrize(
        "token",
        [
            "",
            "plaintext",
            "v1:abc",
            "v1:a:b:c:d",
            "v2:{kid}:AAAA:AAAA",
            "v1:{kid}:!!!!:AAAA",
            "v1:{kid}:AAAAAAAAAAAAAAAA:AAAA",
            "v1:{kid}::",
        ],
    )
    def test_raise_crypto_error(self, box: SecretBox, token: str) -> None:
        with pytest.raises(CryptoError):
            box.decrypt(token.format(kid=box.current_kid), AAD)

    def test_tampered_ciphertext(self, box: SecretBox) -> None:
        version, kid, nonce, ct = box.encrypt("pw", AAD).split(":")
        flipped = ("B" if ct[0] == "A" else "A") + ct[1:]

        with pytest.raises(CryptoError):
            box.decrypt(f"{version}:{kid}:{nonce}:{flipped}", AAD)

    @pytest.mark.parametrize("token", ["", "plaintext", "v1", "v2:kid:AAAA:AAAA"])
    def test_needs_rotation_on_garbage_raises_crypto_error(
        self, box: SecretBox, token: str
    ) -> None:
        with pytest.raises(CryptoError):
            box.needs_rotation(token)


class TestKeyring:
    @pytest.mark.parametrize("spec", ["", " , ", "kid:short", "kid:!!!not-base64!!!"])
    def test_bad_specs_are_refused(self, spec: str) -> None:
        with pytest.raises(CryptoError):
            SecretBox.from_spec(spec)

    def test_generated_key_is_32_bytes_with_its_id(self) -> None:
        spec = generate_key()
        kid, encoded = spec.split(":")
        import base64

        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        assert len(raw) == 32
        assert kid == key_id(raw)
