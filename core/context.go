package core

import "context"

type ctxKey struct{}

// NewContext returns a copy of ctx carrying s, for [FromContext]. The
// middleware calls it; adapters for other frameworks do too.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// sessionContext is a context carrying a session, made together with the
// session in one allocation by the middleware.
type sessionContext struct {
	context.Context
	s Session
}

// Value returns the session for the session key and otherwise asks the
// parent.
func (c *sessionContext) Value(key any) any {
	if key == (ctxKey{}) {
		return &c.s
	}
	return c.Context.Value(key)
}

// FromContext returns the session of the innermost session middleware
// that ctx went through, or nil when there is none. Apps with two managers
// (say, one for users and one for admins) use [Manager.FromContext].
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}

// FromContext returns the session that m loaded for the request of ctx, or
// nil when m's middleware did not run for it.
func (m *Manager) FromContext(ctx context.Context) *Session {
	for s := FromContext(ctx); s != nil; s = s.outer {
		if s.m == m {
			return s
		}
	}
	return nil
}
