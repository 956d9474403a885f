"""Exceptions that become Proxmox-style HTTP answers.

Proxmox handlers `die` with a message (usually ending in a newline) or raise a
PVE::Exception carrying an HTTP code and per-parameter `errors`. The server
turns them into `{"data": null, "message": ..., "errors": ...}` with the first
line of the message as reason phrase.
"""


class ApiError(Exception):
    """An error answered with a JSON body (PVE::Exception or a plain die)."""

    def __init__(self, status, message, errors=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def __repr__(self):
        return "ApiError(%d, %r, %r)" % (self.status, self.message, self.errors)


class AuthFailure(Exception):
    """A failed authentication: 401 with an empty body (pveproxy auth_handler)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def die(message):
    """Perl `die "...\\n"` inside a handler: HTTP 500 with that message."""
    return ApiError(500, message)


def param_error(errors, message="Parameter verification failed.\n"):
    """raise_param_exc: 400 with per-parameter errors."""
    return ApiError(400, message, dict(errors))


def perm_error(what=None):
    """raise_perm_exc: 403 `Permission check failed (what)`."""
    msg = "Permission check failed"
    if what:
        msg += " (%s)" % what
    return ApiError(403, msg + "\n")


def not_implemented(method, rel_uri):
    return ApiError(501, "Method '%s %s' not implemented" % (method, rel_uri))
