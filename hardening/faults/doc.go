// Package faults holds sessionkit's store-fault tests: real redis-server
// and memcached processes killed, restarted and paused, and an SQLite
// database locked by another process, under load through core's net/http
// Handler.
package faults
