"""The walkaudit sync server: receives what phones send, finds who owns the place, sends each
owner a report, and keeps the follow-up. A map of its packages is in README.md ("Where things
are"); `sync_server.app.create_app(settings)` puts it together."""
