// Package storetest is the conformance suite for implementations of
// [core.Store], in the manner of [testing/fstest] and [testing/slogtest].
// Every store of sessionkit runs it, and a third-party store should too.
//
// # Usage
//
// Call [Run] from a test with a function that returns a fresh, empty and
// isolated store and registers its cleanup:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) core.Store {
//			s, err := mystore.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run starts one parallel subtest per rule, each with its own store, so a
// failure names the rule that was broken (for example
// TestConformance/NoResurrection). The suite sleeps at most a few seconds
// in total to watch records expire.
//
// # What is checked
//
//   - Load, Save and Delete round trip; a missing key is found == false with
//     a nil error, and deleting it is nil.
//   - Expiry is honoured to the millisecond: the store never returns an
//     expired record, and its own expiry (a native TTL, a column) follows
//     Save, SaveDelta and Touch, later and earlier.
//   - SaveDelta, directly when the store is a [core.DeltaStore] and through
//     the manager's fallback (load, [record.Apply], save) otherwise, follows
//     the delta rules: set, delete and clear
//     keys, keep the header and never shorten the expiry when the delta has
//     no header, insert-if-absent ([core.ErrSessionExists]) and no
//     resurrection ([core.ErrSessionGone]). Concurrent deltas on one
//     session lose no update, and of concurrent creates exactly one wins.
//   - Take (as the manager does it, and directly when the store is a
//     [core.TakeStore]) returns a live record and deletes it, and finds
//     nothing in a missing, deleted or expired one; of concurrent Takes of
//     one record exactly one wins, and a Take racing delta saves of its
//     record gets every save that succeeded, the others failing with
//     [core.ErrSessionGone].
//   - Bytes that are not a record are refused by Save and SaveDelta with
//     [core.ErrCorrupt].
//   - Touch moves the deadline both ways without changing the data, and
//     never creates a record; the remaining TTL is close to the expected one.
//   - Iterate, Count, Clear and Cleanup see only live records; a capability
//     reporting [core.ErrNotSupported] is logged and skipped.
//   - After Close every method fails with [core.ErrClosed], and a second
//     Close does not panic.
//   - Keys with odd bytes ([OddKeys]) stay apart and inside the store.
//   - A context that is already done makes every method fail with its
//     error, and nothing is written.
//   - Data passed to Save or SaveDelta is copied, and data returned by Load
//     does not change under the caller when the record is written again.
//   - A 256 KiB record round trips, or is refused with [core.ErrTooLarge]
//     and nothing is written.
//
// # Helpers
//
// [Record], [Header], [Entries], [ExpiringEntry], [Values], [SameRecord]
// and [OddKeys] build and compare records; test kits of wrappers (the
// cached store, the factory) can use them too.
package storetest
