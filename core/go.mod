module github.com/sessionkit/sessionkit/core

go 1.26
