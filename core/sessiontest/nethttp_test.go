package sessiontest_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

func TestNetHTTPMemoryStore(t *testing.T) {
	t.Parallel()
	sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestNetHTTPFileStore(t *testing.T) {
	t.Parallel()
	sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store {
		s, err := filestore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
