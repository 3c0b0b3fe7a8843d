package core

import (
	"net/http"
	"strings"
)

// Token returns the session token r carries: the token header in header
// mode, otherwise the session cookie. When several cookies have the
// session's name (a parent domain and a host cookie, say), the first whose
// value has the shape of a session ID wins; browsers send the cookie with
// the most specific path first. It returns "" when there is none.
func (m *Manager) Token(r *http.Request) string {
	return m.TokenFrom(r.Header[m.TokenHeader()])
}

// TokenHeader returns the canonical name of the request header that
// carries the session token: "Cookie" in cookie mode, else the
// [WithHeaderToken] header.
func (m *Manager) TokenHeader() string {
	if m.cfg.headerName != "" {
		return m.cfg.headerName
	}
	return "Cookie"
}

// TokenFrom is [Manager.Token] for adapters whose framework has no
// *http.Request (Fiber's fasthttp): values are the values of every request
// header line named [Manager.TokenHeader], in order. The same rules pick
// the token. The result may be a substring of values: an adapter whose
// framework reuses its buffers must copy it (strings.Clone) before it
// outlives the request.
func (m *Manager) TokenFrom(values []string) string {
	if m.cfg.headerName != "" {
		if len(values) > 0 {
			return strings.TrimSpace(values[0])
		}
		return ""
	}
	return cookieToken(values, m.cfg.cookie.Name)
}
