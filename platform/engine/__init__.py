"""The engines that run a program: `offline` (Pulumi mocks, in-process) and the fake AWS it
answers with (`fake_aws`).

Import the engine module you need (`from osp.platform.engine import offline`); this package
imports nothing heavy itself, so the CLI stays quick to start.
"""
