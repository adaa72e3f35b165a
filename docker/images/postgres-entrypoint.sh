#!/bin/sh
# postgres-entrypoint.sh: entrypoint of labsup's offline PostgreSQL image
# (labsup image build).  Runs as the postgres user with only dash builtins
# and the PostgreSQL binaries: the image has no coreutils.
#
# First start: initdb into the data volume with the lab's role as its
# superuser, scram for TCP, the lab's database.  The password comes from a
# 0600 file labsup copies into the container before starting it, so it is
# never on a command line or in the environment.  Every start: set the
# password again (the lab may have generated a new one), then exec postgres
# with labsup's settings ("$@").
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${LABSUP_USER:=labsup}"
: "${LABSUP_DB:=labsup}"
pwfile=/run/labsup/password
# "postgres -c ..." as with the official image, or just "-c ..."
if [ "${1:-}" = postgres ]; then
	shift
fi

if [ ! -r "$pwfile" ]; then
	echo "labsup-entrypoint: $pwfile is missing: start this container with labsup, which copies it in" >&2
	exit 1
fi
if [ ! -e "$PGDATA/PG_VERSION" ]; then
	initdb -D "$PGDATA" -U "$LABSUP_USER" --pwfile="$pwfile" \
	    --auth-host=scram-sha-256 --auth-local=trust \
	    -E UTF8 --locale=C >/dev/null
	# containers reach each other over the lab network, and the host's
	# connections arrive from the bridge gateway, not 127.0.0.1
	{
		echo "host all all 0.0.0.0/0 scram-sha-256"
		echo "host all all ::/0 scram-sha-256"
		echo "host replication all 0.0.0.0/0 scram-sha-256"
	} >>"$PGDATA/pg_hba.conf"
fi
# the file may lack a final newline: read then fails, pw is still set
read -r pw <"$pwfile" || [ -n "$pw" ]
# Single-user mode reads SQL on stdin: the password stays off argv.  It
# gets the server's settings too: with logical slots in the data directory
# it refuses to start at a lower wal_level.
if [ ! -e "$PGDATA/labsup.initialized" ]; then
	echo "CREATE DATABASE \"$LABSUP_DB\"" |
	    postgres --single -D "$PGDATA" "$@" postgres >/dev/null
	: >"$PGDATA/labsup.initialized"
fi
echo "ALTER ROLE \"$LABSUP_USER\" PASSWORD '$pw'" |
    postgres --single -D "$PGDATA" "$@" postgres >/dev/null
unset pw
exec postgres -D "$PGDATA" "$@"
