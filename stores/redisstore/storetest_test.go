package redisstore

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/storetest"
)

func TestConformanceSingle(t *testing.T) {
	c := singleClient(t)
	storetest.Run(t, func(t *testing.T) core.Store { return newTestStore(t, c) })
}

func TestConformanceCluster(t *testing.T) {
	c := clusterClient(t)
	storetest.Run(t, func(t *testing.T) core.Store { return newTestStore(t, c) })
}

// TestConformanceSmallLimit runs the suite with a limit its large records
// exceed, so the ErrTooLarge paths run too.
func TestConformanceSmallLimit(t *testing.T) {
	c := singleClient(t)
	storetest.Run(t, func(t *testing.T) core.Store { return newTestStore(t, c, WithMaxSize(64<<10)) })
}
