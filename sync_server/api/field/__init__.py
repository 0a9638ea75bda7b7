"""What phones talk to, over HTTP (the rules are in `sync_server.field`, same module names):

    enrol   POST /v1/enrol: a one-time code becomes a device token (wrong codes throttled)
    sync    POST /v1/sync/push and GET /v1/sync/pull (the body read bounded, `api.body`)
    photos  HEAD/PUT /v1/photos/{sha256}: resumable uploads, streamed to the blob store
    reads   the follow-ups planned on this server, open findings nearby, one finding's history
    tiles   POST/GET /v1/tiles/packages…: offline map packages for a walk's area

Every route here authenticates the device (`api.deps`); the contract is sync_server/PROTOCOL.md.
"""
