package memcachestore

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

// TestMatrix runs the middleware behaviour matrix through core's net/http middleware against a
// real memcached.
func TestMatrix(t *testing.T) {
	sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store {
		s, _ := newTestStore(t)
		return s
	})
}
