"""The `escalier` command: run the whole system, or the embedded broker alone."""
