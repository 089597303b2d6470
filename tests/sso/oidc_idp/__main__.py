"""python -m tests.sso.oidc_idp: migrate a fresh SQLite file, then serve on 127.0.0.1 (a free port).

Prints `listening on PORT` once it answers. Environment: IDP_DATABASE (a file path), IDP_CONTROL_TOKEN.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.sso.oidc_idp.settings"
    import django
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    server = ThreadedWSGIServer(
        ("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), WSGIRequestHandler
    )
    server.set_app(get_wsgi_application())
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
