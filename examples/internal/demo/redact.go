package demo

import (
	"net/url"
	"strings"
)

// redact hides the secrets in the store URL before it is logged: the
// userinfo password and every query parameter that names a password,
// secret, token or key (password, sentinel_password, ...).
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		scheme, _, _ := strings.Cut(s, ":")
		return scheme + ":..."
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretParam(k) {
				q[k] = []string{"xxxxx"}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// secretParam reports whether a store URL query parameter holds a secret.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"pass", "secret", "token", "key", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
