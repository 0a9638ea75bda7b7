"""The coordinator's desk: who may sign in, what they do to findings, what they read and take away.

    accounts      users and roles, argon2 passwords, sessions, a login throttle
    tracking      the coordinator's actions on a finding, each an event in its history
    finding_list  the read side: the filtered list, map points, one finding in full
    followups     follow-up walks: a named selection of open findings, sent to a device
    export        the filtered findings as CSV (FixMyStreet's columns first) or GeoJSON

Its pages are `sync_server.api.workspace`; its words `sync_server.texts` (`coord.*`, `admin.*`,
`findings.*`). Import the modules themselves (`from sync_server.workspace import accounts`):
this package re-exports nothing, so importing one module does not load the others.
"""
