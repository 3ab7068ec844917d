set -eu
umask 077
aws secretsmanager get-secret-value --secret-id "$ADMIN_SECRET_ARN" \
  --query SecretString --output text > {password_file}
