package core

import (
	"context"
	"fmt"
	"time"
)

// EventKind says what happened to a session (see [Event]).
type EventKind uint8

// The kinds of [Event].
const (
	// EventCreated: a new session was saved for the first time.
	EventCreated EventKind = iota + 1
	// EventRenewed: the session was moved to a new ID by [Session.Renew].
	EventRenewed
	// EventDestroyed: the session was deleted; [Event.Cause] says by what.
	// A logout ([Session.Destroy]) of a session that another request or
	// DestroyUserSessions deleted meanwhile reports it too (a store's
	// Delete cannot tell), so one session may be reported destroyed twice.
	EventDestroyed
	// EventBound: the session was bound to the user [Event.User] by
	// [Session.SetUser], or unbound when User is "".
	EventBound
	// EventExpired: the manager found the session past its deadline.
	// Best effort: most sessions expire unseen, in the store, and raise no
	// event; this one is raised only when a request brings back a session
	// whose record is still there but whose lifetime has run out.
	EventExpired
)

// String returns the kind's name ("created", "renewed", ...).
func (k EventKind) String() string {
	switch k {
	case EventCreated:
		return "created"
	case EventRenewed:
		return "renewed"
	case EventDestroyed:
		return "destroyed"
	case EventBound:
		return "bound"
	case EventExpired:
		return "expired"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Cause says what destroyed a session (see [EventDestroyed]).
type Cause uint8

// The causes of [EventDestroyed].
const (
	// CauseSession: the session itself, by [Session.Destroy].
	CauseSession Cause = iota + 1
	// CauseUser: a user-wide destroy, [Manager.DestroyUserSessions].
	CauseUser
	// CauseRevoke: a single-device revoke, [Manager.DestroySession].
	CauseRevoke
)

// String returns the cause's name ("session", "user", "revoke").
func (c Cause) String() string {
	switch c {
	case CauseSession:
		return "session"
	case CauseUser:
		return "user"
	case CauseRevoke:
		return "revoke"
	}
	return fmt.Sprintf("Cause(%d)", uint8(c))
}

// Event is one thing that happened to a session, as delivered to the
// handler set by [WithEvents]. It never holds the session's ID: Key is the
// store key, safe to log.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Cause says what destroyed the session; set for EventDestroyed only.
	Cause Cause
	// User is the user the session is (or, for EventDestroyed, was) bound
	// to, "" for none.
	User string
	// Handle is the session's handle ([Session.Handle]), "" for a session
	// bound to no user.
	Handle string
	// Key is the session's store key ([StoreKey]); after a Renew, the new
	// one. It is empty for the sessions [Manager.DestroyUserSessions] and
	// [Manager.DestroySession] destroy: a user index knows them by handle.
	Key string
	// PrevKey is the store key before a Renew; set for EventRenewed only.
	PrevKey string
	// Time is the manager's clock when the event happened.
	Time time.Time
}

// WithEvents makes the manager call fn for every session event: created,
// renewed, destroyed (by the session itself, a user-wide destroy or a
// device revoke), bound to a user, and, best effort, expired (see
// [EventExpired]). fn is called synchronously, in the goroutine of the
// request or call that caused the event, after the store write the event
// reports has succeeded, and never with the session's lock held. It
// delays that request: keep it fast, or hand the event off to a channel
// or queue. fn must be safe for concurrent use. Default: none.
func WithEvents(fn func(ctx context.Context, e Event)) Option {
	return func(c *config) { c.events = fn }
}

// emit queues e for delivery once s's commit has released its lock; a
// no-op without WithEvents.
func (m *Manager) emit(s *Session, e Event) {
	if m.cfg.events != nil {
		s.pending = append(s.pending, e)
	}
}
