// Package matrix runs core/sessiontest's behaviour matrix through every
// framework adapter on the stores with a server or a driver (SQLite,
// Redis): the combinations no published module may test itself, since a
// store module's tests import no framework and an adapter's no store
// driver.
package matrix

import (
	"testing"

	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/hardening/internal/harness"
)

func TestMatrix(t *testing.T) {
	for _, h := range []sessiontest.Harness{harness.Gin(), harness.Echo(), harness.Echo5(), harness.Fiber(), harness.Fiber3()} {
		for _, sc := range harness.Stores() {
			if sc.Name == "memory" {
				continue // each adapter's own tests cover it
			}
			t.Run(h.Name+"/"+sc.Name, func(t *testing.T) {
				sessiontest.Run(t, h, sc.Open)
			})
		}
	}
}
