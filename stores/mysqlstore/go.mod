module github.com/sessionkit/sessionkit/stores/mysqlstore

go 1.26

require github.com/go-sql-driver/mysql v1.10.2

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/sessionkit/sessionkit/core v0.1.0
	github.com/sessionkit/sessionkit/stores/sqlstore v0.1.0
)

replace github.com/sessionkit/sessionkit/core => ../../core

replace github.com/sessionkit/sessionkit/stores/sqlstore => ../../stores/sqlstore
