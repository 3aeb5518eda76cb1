"""One way to end a command on a user error: `error: ...` on stderr and exit 2, never a traceback.

Every command (compile, verify, inspect, bench, train) is wrapped with `user_errors`.
Set BNNCC_DEBUG=1 to see the traceback instead.
"""

from __future__ import annotations

import functools
import os
import sys

import click

from .errors import BnnccError


def user_errors(func):
    """Turn BnnccError (and any unexpected exception) into a message and an exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BnnccError as exc:
            if os.environ.get("BNNCC_DEBUG"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, SystemExit):
            raise
        except OSError as exc:  # the environment: an unwritable output folder, a full disk, a vanished file
            if os.environ.get("BNNCC_DEBUG"):
                raise
            where = f" '{exc.filename}'" if exc.filename else ""
            click.echo(f"error: cannot access{where}: {exc.strerror or exc}", err=True)
            sys.exit(2)
        except Exception as exc:  # a bug in bnncc: still no traceback for the user
            if os.environ.get("BNNCC_DEBUG"):
                raise
            click.echo(f"error: internal error ({type(exc).__name__}: {exc}); please report it "
                       "(BNNCC_DEBUG=1 shows the traceback)", err=True)
            sys.exit(3)

    return wrapper
