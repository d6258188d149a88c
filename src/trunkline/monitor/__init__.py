"""The SIP health monitor: the only adapter between ``trunkline.sip`` and the database.

* ``status``     -- pure: outcome of a check → API status (docs/api-decisions.md §4.4), detail
                    and plain-words hint.
* ``targets``    -- turn connection / trunk / PBX rows into check specs (decrypting in memory).
* ``checker``    -- run one check with the SIP client: OPTIONS primary/secondary, REGISTER.
* ``repository`` -- claim due targets with leases, write results and status events.
* ``service``    -- check-now for the API, and the background loop (``Monitor``).
"""
