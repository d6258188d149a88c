"""Call records, their event timelines, live-call leases, and the calls API."""
