"""The engines that run the estate program: `offline` (Pulumi mocks, in-process).

Import the engine module you need (`from osp.platform.engine import offline`); this package
imports nothing heavy itself, so the CLI stays quick to start.
"""
