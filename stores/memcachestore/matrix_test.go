package memcachestore

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/ginsession/ginsessiontest"
	"github.com/sessionkit/sessionkit/internal/behaviortest"
)

// TestMatrixGin runs the middleware behaviour matrix through Gin against a
// real memcached.
func TestMatrixGin(t *testing.T) {
	behaviortest.Run(t, ginsessiontest.Harness(), func(t *testing.T) core.Store {
		s, _ := newTestStore(t)
		return s
	})
}
