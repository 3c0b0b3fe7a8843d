package sqlitestore_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// TestMatrix runs the middleware behaviour matrix through core's net/http middleware on the
// SQLite store, bare and behind the cached store.
func TestMatrix(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store { return openStore(t) })
	})
	t.Run("cached", func(t *testing.T) {
		sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store {
			return cachedstore.New(openStore(t), cachedstore.WithCloseBacking(false))
		})
	})
}

// TestConformanceCached runs the store suite on the cached store over
// SQLite, the pairing the cached store exists for.
func TestConformanceCached(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		return cachedstore.New(openStore(t), cachedstore.WithCloseBacking(false))
	})
}
