"""The one exception type that means "the user's input is wrong".

The CLI turns it into a one-line message and exit code 2; everything else is a bug
and keeps its traceback (shown with ``--debug``).
"""


class UserError(Exception):
    """Bad input: missing file, malformed annotation, unknown name, wrong checkpoint."""

    exit_code = 2
