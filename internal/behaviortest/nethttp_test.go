package behaviortest_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/behaviortest"
)

func TestNetHTTPMemoryStore(t *testing.T) {
	t.Parallel()
	behaviortest.Run(t, behaviortest.NetHTTP(), func(t *testing.T) core.Store {
		s := core.NewMemoryStore()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestNetHTTPFileStore(t *testing.T) {
	t.Parallel()
	behaviortest.Run(t, behaviortest.NetHTTP(), func(t *testing.T) core.Store {
		s, err := core.NewFileStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
