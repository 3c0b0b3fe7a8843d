module github.com/sessionkit/sessionkit/stores/redisstore

go 1.26
