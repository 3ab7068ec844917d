set -eu
umask 077
mkdir -p "$CREDENTIALS_DIR/stored"
aws secretsmanager get-secret-value --secret-id "$ADMIN_SECRET_ARN" \
  --query SecretString --output text > "$CREDENTIALS_DIR/admin.json"
while read -r service arn; do
  [ -n "$service" ] || continue
  stages=$(aws secretsmanager describe-secret --secret-id "$arn" \
    --query VersionIdsToStages --output json)
  case "$stages" in
    *AWSCURRENT*)
      aws secretsmanager get-secret-value --secret-id "$arn" \
        --query SecretString --output text > "$CREDENTIALS_DIR/stored/$service.json"
      echo "$service: credentials found" ;;
    *)
      echo "$service: no credentials yet" ;;
  esac
done <<EOF
$SERVICE_SECRETS
EOF
