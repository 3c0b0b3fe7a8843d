module github.com/sessionkit/sessionkit/stores/sqlstore

go 1.26

require github.com/sessionkit/sessionkit/core v0.1.0

replace github.com/sessionkit/sessionkit/core => ../../core
