package echosession_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

func TestBehaviorMemoryStore(t *testing.T) {
	t.Parallel()
	sessiontest.Run(t, harness(), func(t *testing.T) core.Store {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestBehaviorFileStore(t *testing.T) {
	t.Parallel()
	sessiontest.Run(t, harness(), func(t *testing.T) core.Store {
		s, err := filestore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
