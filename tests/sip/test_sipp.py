"""Against a SIPp MD5 registrar (a second, independent digest implementation)."""

from __future__ import annotations

import pytest

from tests.support.sip_peers import SippRegistrar
from trunkline.sip import Credentials, Registration, SipClient

pytestmark = pytest.mark.peer


async def test_sipp_options(sipp_registrar: SippRegistrar, sip_client: SipClient) -> None:
    res = await sip_client.options(sipp_registrar.target())
    assert res.sip_code == 200


async def test_sipp_register_right_password(
    sipp_registrar: SippRegistrar, sip_client: SipClient
) -> None:
    creds = Credentials(sipp_registrar.user, sipp_registrar.password)
    res = await Registration(sip_client, sipp_registrar.target(), creds).register()
    assert res.registered and res.sip_code == 200 and res.expires_s == 60
    assert res.registered_until is not None


async def test_sipp_register_wrong_password(
    sipp_registrar: SippRegistrar, sip_client: SipClient
) -> None:
    creds = Credentials(sipp_registrar.user, "not-the-password")
    res = await Registration(sip_client, sipp_registrar.target(), creds).register()
    assert res.sip_code == 403 and res.auth_failed and not res.registered
