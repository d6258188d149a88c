"""Root fixtures. Peer fixtures (Kamailio, SIPp) live in tests/support/sip_fixtures.py."""

pytest_plugins = ["tests.support.sip_fixtures"]
