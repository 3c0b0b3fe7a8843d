// Package hardening holds sessionkit's hardening tests, which need real
// servers and several processes and so live apart from the packages they
// check:
//
//   - faults: a Redis killed and restarted from its AOF, Redis and
//     memcached paused with SIGSTOP, memcached restarted empty, an SQLite
//     database locked by another process, all under load through core's
//     net/http Handler;
//   - load: a bounded loopback load run through every middleware and
//     store, checking that no update is lost (scripts/load.sh runs the
//     long version and prints requests per second and p99 latency);
//   - leaks: opening and closing every store leaves no goroutine behind.
//
// Run them through scripts/test.sh, which starts the servers and exports
// the SESSIONKIT_* variables they need; a missing variable fails the test
// that needs it, naming it.
package hardening
