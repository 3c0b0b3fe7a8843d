package redisstore

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/ginsession/ginsessiontest"
	"github.com/sessionkit/sessionkit/internal/behaviortest"
)

// TestMatrixGin runs the middleware behaviour matrix through Gin against a
// real redis-server and a real Redis Cluster.
func TestMatrixGin(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		c := singleClient(t)
		behaviortest.Run(t, ginsessiontest.Harness(), func(t *testing.T) core.Store { return newTestStore(t, c) })
	})
	t.Run("cluster", func(t *testing.T) {
		c := clusterClient(t)
		behaviortest.Run(t, ginsessiontest.Harness(), func(t *testing.T) core.Store { return newTestStore(t, c) })
	})
}
