class ApplicationError(Exception):
    """A business rule refused an action; `message` is plain language for the user."""

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

    @property
    def problems(self) -> list[str]:
        """Each problem in plain language: `extra["problems"]` when the rule gathered several, else the message."""
        return list(self.extra.get("problems") or [self.message])
