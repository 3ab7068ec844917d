set -eu
while read -r service arn; do
  [ -n "$service" ] || continue
  document="$CREDENTIALS_DIR/new/$service.json"
  if [ -f "$document" ]; then
    aws secretsmanager put-secret-value --secret-id "$arn" \
      --secret-string "file://$document" --query VersionId --output text
    echo "$service: credentials stored"
  fi
done <<EOF
$SERVICE_SECRETS
EOF
