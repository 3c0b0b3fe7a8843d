# scripts/sqlservers.sh: starts a throwaway PostgreSQL and MariaDB for
# scripts/test.sh and scripts/load.sh. Source it after defining $work (a
# temporary directory removed at exit), the pids array (killed at exit),
# log and start_server NAME CMD... (which starts CMD with {PORT} replaced by
# a free port of 127.0.0.1, waits until it listens and sets $port); then
# call start_sql_servers. It defines functions only.
#
# PostgreSQL is initdb-ed into $work/postgres, owned by nobody (postgres
# refuses to run as root), with password (scram) logins over TCP and trust
# on its unix socket, which is in that directory. MariaDB is installed into
# $work/mariadb with mariadb-install-db; root logs in through its socket
# (unix_socket auth) to create the test user, who logs in over TCP with a
# password. Neither uses the standard ports 5432 and 3306. Exported:
#   SESSIONKIT_POSTGRES_URL  postgres://sessionkit:…@127.0.0.1:PORT/sessionkit?sslmode=disable
#   SESSIONKIT_MYSQL_DSN     sessionkit:…@tcp(127.0.0.1:PORT)/sessionkit
#   SESSIONKIT_POSTGRES_BIN  the directory of initdb and postgres
#   SESSIONKIT_MARIADB_BIN   mariadbd

# sql_missing prints the Debian packages missing for start_sql_servers.
sql_missing() {
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || echo postgresql
	command -v mariadb-install-db >/dev/null || echo mariadb-server
	command -v mariadb >/dev/null || echo mariadb-client
}

start_sql_servers() {
	local pgbin pgdir pgpass pgport mydir mypass myport
	pgbin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
	pgdir="$work/postgres"
	mkdir -p "$pgdir"
	chmod 711 "$work" # nobody may pass through to its own directory, list nothing
	pgpass=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s\n' "$pgpass" >"$pgdir/pwfile"
	chown -R nobody:nogroup "$pgdir"
	chmod 700 "$pgdir"
	log "initdb (PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'))"
	runuser -u nobody -- "$pgbin/initdb" -D "$pgdir/data" -U sessionkit --pwfile="$pgdir/pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >"$pgdir/initdb.log" 2>&1 || {
		cat "$pgdir/initdb.log" >&2
		return 1
	}
	start_server postgres runuser -u nobody -- "$pgbin/postgres" -D "$pgdir/data" -k "$pgdir" \
		-c listen_addresses=127.0.0.1 -p "{PORT}" -c fsync=off -c max_connections=200 \
		-c logging_collector=on -c log_directory="$pgdir" -c log_filename=postgres.log
	pgport=$port
	runuser -u nobody -- "$pgbin/psql" -h "$pgdir" -p "$pgport" -U sessionkit -d postgres -qAt \
		-c 'CREATE DATABASE sessionkit' >/dev/null
	export SESSIONKIT_POSTGRES_URL="postgres://sessionkit:$pgpass@127.0.0.1:$pgport/sessionkit?sslmode=disable"
	export SESSIONKIT_POSTGRES_BIN="$pgbin"
	log "postgres on 127.0.0.1:$pgport"

	mydir="$work/mariadb"
	mkdir -p "$mydir"
	log "mariadb-install-db ($(mariadbd --version | awk '{print $3}'))"
	mariadb-install-db --no-defaults --datadir="$mydir/data" --user=root --skip-test-db \
		--auth-root-authentication-method=socket >"$mydir/install.log" 2>&1 || {
		cat "$mydir/install.log" >&2
		return 1
	}
	start_server mariadb mariadbd --no-defaults --datadir="$mydir/data" --user=root \
		--bind-address=127.0.0.1 --port="{PORT}" --socket="$mydir/sock" --pid-file="$mydir/pid" \
		--skip-name-resolve --innodb-flush-log-at-trx-commit=0 --max-connections=300 \
		--log-error="$mydir/error.log"
	myport=$port
	mypass=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	mariadb --no-defaults -S "$mydir/sock" -u root -e "CREATE DATABASE sessionkit;
CREATE USER 'sessionkit'@'127.0.0.1' IDENTIFIED BY '$mypass';
GRANT ALL ON sessionkit.* TO 'sessionkit'@'127.0.0.1';"
	export SESSIONKIT_MYSQL_DSN="sessionkit:$mypass@tcp(127.0.0.1:$myport)/sessionkit"
	SESSIONKIT_MARIADB_BIN=$(command -v mariadbd)
	export SESSIONKIT_MARIADB_BIN
	log "mariadb on 127.0.0.1:$myport"
}
