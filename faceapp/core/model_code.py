"""The model code (torch, torchvision, torch._dynamo, the training package's models), imported by one thread at a time.

The window comes up before this code is imported (`app.warm_up` imports it on a background thread), so a
job started early imports it on its own worker while the warm-up thread may be importing it too. Python
serialises the import of one module, not the registrations torch makes as its submodules load: two
worker threads importing at once once failed with "operator onnx::Attention.opset23 does not exist" and
left the Verify page at "Scoring…". Everything that needs the model code calls `import_model_code()`
first, and what needs only torch (reading a checkpoint's metadata) `checkpoint_code()`; after the first
call either costs one uncontended lock.
"""
from __future__ import annotations

import threading
from types import ModuleType

_lock = threading.Lock()
_imported = threading.Event()


def import_model_code() -> None:
    with _lock:
        import training.engine  # the wizard's training (tasks, transforms, models)
        import training.inference  # tagging and verification
        import training.models.gender
        import training.models.matcher
        import training.models.weights  # noqa: F401 - imported for its side effect, like the four above
    _imported.set()


def imported() -> bool:
    """Whether `import_model_code` has finished: from then on torch costs nothing to import on any thread."""
    return _imported.is_set()


def checkpoint_code() -> ModuleType:
    """`training.checkpoint` (torch without torchvision), imported under the same lock: a model file read on a
    worker (an import dropped on the window in the first seconds) must not import torch beside the warm-up."""
    with _lock:
        from training import checkpoint
    return checkpoint
