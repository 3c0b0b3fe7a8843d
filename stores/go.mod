module github.com/sessionkit/sessionkit/stores

go 1.26.0

require (
	github.com/bradfitz/gomemcache v0.0.0-20260422231931-4d751bb6e37c
	github.com/go-sql-driver/mysql v1.10.2
	github.com/jackc/pgx/v5 v5.13.0
	github.com/redis/go-redis/v9 v9.23.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dustin/go-humanize v1.0.1 // indirect
	github.com/glebarez/go-sqlite v1.23.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/ncruces/go-strftime v1.0.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	github.com/sessionkit/sessionkit/core v0.1.0
	github.com/sessionkit/sessionkit/stores/memcachestore v0.1.0
	github.com/sessionkit/sessionkit/stores/mysqlstore v0.1.0
	github.com/sessionkit/sessionkit/stores/postgresstore v0.1.0
	github.com/sessionkit/sessionkit/stores/redisstore v0.1.0
	github.com/sessionkit/sessionkit/stores/sqlitestore v0.1.0
	github.com/sessionkit/sessionkit/stores/sqlstore v0.1.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	modernc.org/libc v1.74.1 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.11.0 // indirect
	modernc.org/sqlite v1.55.0 // indirect
)

replace github.com/sessionkit/sessionkit/core => ../core

replace github.com/sessionkit/sessionkit/stores/memcachestore => ./memcachestore

replace github.com/sessionkit/sessionkit/stores/mysqlstore => ./mysqlstore

replace github.com/sessionkit/sessionkit/stores/postgresstore => ./postgresstore

replace github.com/sessionkit/sessionkit/stores/redisstore => ./redisstore

replace github.com/sessionkit/sessionkit/stores/sqlitestore => ./sqlitestore

replace github.com/sessionkit/sessionkit/stores/sqlstore => ./sqlstore
