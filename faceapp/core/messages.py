"""The one sentence a user sees for an error, wherever it is raised: workers, the wizard, the log hook."""

from __future__ import annotations


def user_message(exc: BaseException) -> str:
    """One sentence a user can act on; the full trace goes to the log."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        path = getattr(exc, "path", None)
        return f"{getattr(path, 'name', '') + ': ' if path else ''}{reason}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    text = str(exc).strip()
    if type(exc).__name__ in {"CheckpointError", "NoModelError", "ModelStoreError", "FolderError"} and text:
        return text
    return f"Unexpected error ({type(exc).__name__}: {text or 'no details'}); see the log for details."
