"""The third-party images the estate's own jobs run, pinned in one place.

Each is from ECR Public (no Docker Hub rate limit on the nodes' pulls) and pinned to an exact
version: a moving tag would change what runs with the master password or the broker's admin
credentials without a change here. Bump them here, and the jobs that use them run again.
"""

#: The AWS CLI (Amazon Linux 2023 based): reads and writes Secrets Manager through IRSA.
AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.32.0"

#: psql, plus Perl with JSON::PP (Debian's postgresql-common depends on both, so the Debian
#: variant has them and the Alpine one does not): parses the master user's secret without a
#: hand-written JSON parser. psql 17 speaks to every supported server major (14-17).
POSTGRES_IMAGE = "public.ecr.aws/docker/library/postgres:17.6-bookworm"

#: Python's slim image installs Debian's ca-certificates, and its `ssl` module verifies against
#: them: the broker presents a publicly trusted certificate for *.mq.<region>.amazonaws.com.
PYTHON_IMAGE = "public.ecr.aws/docker/library/python:3.13.9-slim-bookworm"
