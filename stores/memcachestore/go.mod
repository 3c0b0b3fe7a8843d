module github.com/sessionkit/sessionkit/stores/memcachestore

go 1.26
