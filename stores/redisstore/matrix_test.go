package redisstore

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

// TestMatrix runs the middleware behaviour matrix through core's net/http middleware against a
// real redis-server and a real Redis Cluster.
func TestMatrix(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		c := singleClient(t)
		sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store { return newTestStore(t, c) })
	})
	t.Run("cluster", func(t *testing.T) {
		c := clusterClient(t)
		sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store { return newTestStore(t, c) })
	})
}
