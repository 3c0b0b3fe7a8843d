package storetest_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// A store's conformance test: Run gets a function that returns a fresh,
// empty store for each rule it checks, with its cleanup registered.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T) in a _test.go file
		storetest.Run(t, func(t *testing.T) core.Store {
			s := memstore.New(memstore.WithCleanupInterval(0)) // your store here
			t.Cleanup(func() { s.Close() })
			return s
		})
	}
}
