#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
    # manage.py is the developer's tool: development mode unless the environment says
    # otherwise. Served processes (gunicorn via wsgi.py, Celery) default to production and
    # refuse to start without a real SECRET_KEY; docker-compose sets DEBUG=0 explicitly.
    os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
