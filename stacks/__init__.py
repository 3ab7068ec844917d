"""The per-environment stacks: the estate program and the stack config files beside it."""
