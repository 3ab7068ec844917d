"""`osp refresh`: bring an environment's state in line with what exists in the cloud."""

from __future__ import annotations

from osp.cli import output


def refresh(env: output.EnvOption, project_dir: output.ProjectDirOption = None) -> None:
    """Read every resource of the stack from the cloud and update the state to match.

    Changes no resource; run it after an interrupted or failed update, or after changes made
    outside osp, then `osp preview`.
    """
    from osp.cli import progress
    from osp.platform.automation import operations
    from osp.platform.project import find_project
    from osp.platform.spec import load_environment
    from osp.stacks.estate import build

    with progress.reporter(as_json=False) as display:
        project = find_project(project_dir)
        spec = load_environment(project, env)
        output.spec_warnings(project, spec)
        display.result(operations.refresh(project, spec, build, display))
