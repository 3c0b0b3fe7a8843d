package sqlitestore_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/ginsession/ginsessiontest"
	"github.com/sessionkit/sessionkit/internal/behaviortest"
)

// TestMatrixGin runs the middleware behaviour matrix through Gin on the
// SQLite store, bare and behind the cached store.
func TestMatrixGin(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		behaviortest.Run(t, ginsessiontest.Harness(), func(t *testing.T) core.Store { return openStore(t) })
	})
	t.Run("cached", func(t *testing.T) {
		behaviortest.Run(t, ginsessiontest.Harness(), func(t *testing.T) core.Store {
			return core.NewCachedStore(openStore(t), core.WithCachedCloseBacking(false))
		})
	})
}

// TestConformanceCached runs the store suite on the cached store over
// SQLite, the pairing the cached store exists for.
func TestConformanceCached(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		return core.NewCachedStore(openStore(t), core.WithCachedCloseBacking(false))
	})
}
