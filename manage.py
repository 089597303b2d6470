#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "analyze" and "--help" not in sys.argv[2:3]:
        # The offline analysis needs no database and no settings: skip Django's start-up entirely.
        from policy.cli import main as analyze

        sys.exit(analyze(sys.argv[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iamreview.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
