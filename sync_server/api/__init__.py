"""HTTP only: the routes, one module or sub-package per domain package (same names), and the
plumbing they share. The only place that imports fastapi or starlette, and the only place where
the domains' errors become HTTP answers. `sync_server.app` mounts it all.

    field/       what phones talk to: enrolment, push and pull, photos, reads, map tiles
    workspace/   the coordinator web: sign-in and its plumbing, findings, actions, follow-ups,
                 devices, users and keys, exports
    walks        the coordinator's walks and their protocol
    stats        the lägesbild pages and the weekly summary
    owners/      the owner page /o/{token}
    open311      Open311 GeoReport v2 under /open311/v2/
    health       GET /healthz

    deps         the services and the authenticated device, as FastAPI dependencies
    errors       every failure as `{"detail": "<sentence>"}` with its status, logged
    body         the one bounded-body reader (a body is limited before it is parsed)
    client       who is asking: address and scheme, believing only trusted proxies
    redaction    owner tokens, api keys and signatures kept out of every log
    openapi      the OpenAPI document, completed with what no route declares
"""
