set -eu
umask 077
PGUSER=$(perl {config_dir}/{pgpass_program} {secret_file} "$PGPASSFILE") \
  || exit {script_error_exit_code}
export PGUSER
rm -f {secret_file}
status=0
psql --no-psqlrc --echo-queries --set ON_ERROR_STOP=1 --file {config_dir}/{script} \
  || status=$?
rm -f "$PGPASSFILE"
exit "$status"
