"""The setup every notebook starts with: a version banner, fixed seeds, the device, quiet libraries."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import random
import warnings

# Library progress bars and "could not reach the Hub" notices are noise in stored outputs; so are torchao's notices
# about CUDA kernels it cannot load on a CPU machine and torch's pytree deprecations (transformers imports torchao
# when it is installed).
QUIET_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "datasets", "torchao",
                 "torch.utils._pytree")


def setup(packages: list[str], seed: int = 0):  # -> torch.device
    """Print the versions of `packages`, seed Python/NumPy/torch, silence library chatter, pick a device."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets: text bars are fine
    warnings.filterwarnings("ignore", category=FutureWarning)

    import huggingface_hub.utils
    import numpy as np
    import torch
    import transformers

    # After the imports: each library sets its own logger's level when first imported.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    huggingface_hub.utils.logging.set_verbosity_error()
    huggingface_hub.utils.disable_progress_bars()

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    if torch.cuda.is_available():
        device = torch.device("cuda")
    elif torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in packages)
    print(f"Python {platform.python_version()}; {versions}; device: {device}")
    return device


def show_source(*functions: object) -> None:
    """Display the source of functions that live in the package, as highlighted Python: how a notebook teaches code
    that a recipe of the asset store also runs."""
    import inspect

    from IPython.display import Markdown, display

    display(Markdown("```python\n" + "\n\n".join(inspect.getsource(f) for f in functions) + "```"))
