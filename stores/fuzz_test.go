package stores

import (
	"errors"
	"testing"
)

// FuzzParseURL checks that ParseURL never panics, that every error it
// returns matches ErrConfig, and that every Config it returns is valid.
// The seed corpus is in testdata/fuzz/FuzzParseURL.
func FuzzParseURL(f *testing.F) {
	for _, u := range []string{
		"memory://",
		"file:///srv/app/sessions?timeout=60",
		"sqlite://./data/x.db?table=sessions&cached=true",
		"redis://user:pass@host:6379/0?prefix=session:",
		"rediss://[::1]:6380/1",
		"memcache://h1:11211,h2:11211?prefix=a",
	} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		cfg, err := ParseURL(u)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("ParseURL(%q): error %v does not match ErrConfig", u, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseURL(%q) returned a config Validate refuses: %v", u, err)
		}
		cfg.Options()
	})
}
