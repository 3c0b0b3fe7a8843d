module github.com/sessionkit/sessionkit/internal

go 1.26.0
