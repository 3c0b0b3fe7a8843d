package demo

import (
	"strings"
	"testing"
)

// TestRedactSecrets checks that no secret of a store URL reaches the log.
func TestRedactSecrets(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://user:hunter2@127.0.0.1:6379/0?sentinel_password=hunter2&master=m",
		"redis://127.0.0.1:6379?password=hunter2",
		"memcache://127.0.0.1:11211?auth_token=hunter2",
	} {
		if got := redact(u); strings.Contains(got, "hunter2") {
			t.Errorf("redact(%q) = %q, keeps the secret", u, got)
		}
	}
}
