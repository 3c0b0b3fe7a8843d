module github.com/sessionkit/sessionkit/stores/sqlitestore

go 1.26
