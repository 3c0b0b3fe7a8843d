// Package load holds sessionkit's loopback load test (TestLoad): every
// middleware over every store, with no update lost. scripts/load.sh runs
// it long (SESSIONKIT_LOAD_SECONDS, SESSIONKIT_LOAD_CONNS) and prints its
// numbers.
package load
