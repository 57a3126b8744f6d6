class ApplicationError(Exception):
    """A rule of the domain said no. Views show `message`; the API answers 400 (or
    `status_code`) with `message` and any per-field `extra`."""

    status_code = 400

    def __init__(self, message: str, *, extra: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if status_code is not None:
            self.status_code = status_code


class Conflict(ApplicationError):
    """The action lost a race or the row is no longer in a state that allows it."""

    status_code = 409
