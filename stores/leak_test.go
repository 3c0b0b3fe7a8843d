package stores

import (
	"runtime"
	"testing"
	"time"
)

// TestNoGoroutineLeak opens, uses and closes every backend several times
// and checks that the number of goroutines comes back to where it was: no
// sweeper, pool or cache goroutine outlives Close. It does not call
// t.Parallel, so the parallel tests are paused while it counts.
func TestNoGoroutineLeak(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			// Let goroutines of the previous backend finish exiting.
			settle(runtime.NumGoroutine())
			base := runtime.NumGoroutine()
			for range 3 {
				s, err := b.open(t)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				roundTrip(t, s)
				closeStore(t, s)
			}
			if n := settle(base); n > base {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Fatalf("%d goroutines after closing, %d before:\n%s", n, base, buf)
			}
		})
	}
}

// settle waits up to two seconds for the number of goroutines to drop to
// at most want, and returns the last count.
func settle(want int) int {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}
