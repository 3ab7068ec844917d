"""Real Pulumi runs through the Automation API (the "Pulumi engine" of ARCHITECTURE.md).

Import the module you need; this package imports nothing itself, so the CLI stays quick:

- `operations`: preview, up, destroy, refresh, outputs of one environment — the functions the
  CLI calls, and the `Reporter` protocol its displays implement.
- `stack`: workspace construction and stack selection; `open_stack` is the one seam into the
  Automation API (tests replace it).
- `pulumi_cli`: finding the `pulumi` CLI, the supported versions, the missing-CLI message.
- `backend`: the state backend and secrets provider of an environment (default: the osp home).
- `changes`: a preview's engine events → `ChangeSet` and `Plan` (engine "pulumi").
- `progress`: the rendering model of a run's engine events, and their JSON form.
- `stateful`: the resource types whose replacement or deletion loses data.
- `confirmation`, `locks`, `interrupt`: asking before harm, stack locks (exit 4), Ctrl-C (130).
"""
