"""The `osp` command line. It parses, calls one function in osp.platform, and renders.

Modules here import only typer and the standard library at load time: everything heavy
(pulumi, the AWS and Kubernetes SDKs, osp.components) is imported inside command bodies so
that `osp --help` starts instantly.
"""
