package core

import (
	"context"
	"errors"
	"time"
)

// ErrHeadersWritten is wrapped by errors about session changes that could
// not take effect because the response headers had already been sent: a
// Renew or a new session whose cookie can no longer be set, a Destroy whose
// cookie can no longer be expired, or a store failure while saving changes
// made after the body started.
var ErrHeadersWritten = errors.New("core: response headers already written")

// Manager loads and commits sessions for one store and one configuration.
// Create it once with [NewManager] and share it: a Manager is safe for
// concurrent use, and one Manager may serve several apps and frameworks.
type Manager struct {
	store Store
	cfg   config
	vary  string // what responses vary on: "Cookie" or the token header
}

// NewManager returns a Manager keeping sessions in store. Configuration
// mistakes (a nil store, a cookie name with ';', a non-positive timeout,
// SameSite=None without Secure, ...) panic with a clear message, like
// regexp.MustCompile: they are programming errors found at startup, and
// nothing panics per request.
func NewManager(store Store, opts ...Option) *Manager {
	if store == nil {
		panic("core: NewManager(nil store)")
	}
	m := &Manager{store: store, cfg: defaultConfig(), vary: "Cookie"}
	for _, o := range opts {
		if o == nil {
			panic("core: NewManager: nil Option")
		}
		o(&m.cfg)
	}
	m.cfg.finish()
	if m.cfg.headerName != "" {
		m.vary = m.cfg.headerName
	}
	return m
}

// Store returns the manager's store.
func (m *Manager) Store() Store { return m.store }

// CookieName returns the name of the session cookie.
func (m *Manager) CookieName() string { return m.cfg.cookie.Name }

// timeouts returns the idle timeout and the lifetime that apply to a
// session with the given remember-me flag.
func (m *Manager) timeouts(remember bool) (idle, lifetime time.Duration) {
	idle, lifetime = m.cfg.idle, m.cfg.lifetime
	if remember {
		idle = m.cfg.remember
		lifetime = max(lifetime, m.cfg.remember)
	}
	return idle, lifetime
}

// deadline is the effective deadline of a session saved at now: the idle
// deadline capped by the absolute one.
func (m *Manager) deadline(created, now time.Time, remember bool) time.Time {
	idle, lifetime := m.timeouts(remember)
	d := now.Add(idle)
	if abs := created.Add(lifetime); abs.Before(d) {
		d = abs
	}
	return d
}

func (m *Manager) touchInterval(idle time.Duration) time.Duration {
	if m.cfg.touchInterval > 0 {
		return m.cfg.touchInterval
	}
	return min(idle/100, time.Minute)
}

func (m *Manager) newSession(ctx context.Context, carried bool) *Session {
	s := new(Session)
	m.initSession(ctx, s, carried)
	return s
}

// initSession makes the zero Session s a new, empty session of m.
func (m *Manager) initSession(ctx context.Context, s *Session, carried bool) {
	s.m, s.carried, s.outer = m, carried, FromContext(ctx)
	s.items = s.itemsBuf[:0]
}
