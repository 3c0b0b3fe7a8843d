package core

import "time"

// A Session keeps its times as Unix nanoseconds, 0 meaning none, as the
// record does: two int64s instead of two time.Time in a struct allocated
// on every request.

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeOf is the time of n Unix nanoseconds, the zero time for 0.
func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
