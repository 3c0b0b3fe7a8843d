package core

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
)

// Load returns the session that token refers to. A token that is empty,
// malformed, unknown or expired yields a new, empty session (never adopting
// the client's token); a record that cannot be decoded is logged and
// replaced by a new session too. Only a failing store is an error: then
// the request must fail rather than hand out a fresh session that would
// log the user out.
//
// The middleware calls Load once per request; adapters for other
// frameworks, WebSocket servers and background jobs call it directly and
// finish with [Manager.Commit].
func (m *Manager) Load(ctx context.Context, token string) (*Session, error) {
	s := new(Session)
	if err := m.load(ctx, token, s); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadContext is [Manager.Load] for adapters: it returns the session
// together with a child of ctx that carries it (see [NewContext]), made in
// one allocation. It is steps 3 and 4 of "Writing an adapter" in the
// package doc. On error the context is ctx and the session nil.
func (m *Manager) LoadContext(ctx context.Context, token string) (context.Context, *Session, error) {
	sc := &sessionContext{Context: ctx}
	if err := m.load(ctx, token, &sc.s); err != nil {
		return ctx, nil, err
	}
	return sc, &sc.s, nil
}

// load fills the zero Session s with the session token refers to.
func (m *Manager) load(ctx context.Context, token string, s *Session) error {
	m.initSession(ctx, s, token != "")
	if !validID(token) {
		return nil
	}
	key := storeKey(token)
	data, found, err := m.store.Load(ctx, key)
	now := m.cfg.clock()
	if err != nil {
		return fmt.Errorf("core: load session %s: %w", logKey(key), err)
	}
	if !found {
		return nil
	}
	if err := m.decode(s, data, now); err != nil {
		m.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "sessionkit: undecodable session record replaced by a new session",
			slog.String("key", logKey(key)), slog.String("error", err.Error()))
		*s = Session{}
		m.initSession(ctx, s, true)
		return nil
	}
	_, lifetime := m.timeouts(s.remember)
	if now.UnixNano() >= s.expiry || !now.Before(timeOf(s.created).Add(lifetime)) {
		if m.cfg.events != nil {
			m.cfg.events(ctx, Event{Kind: EventExpired, User: s.user, Handle: s.handle, Key: key, Time: now})
		}
		clear(s.items)
		s.items, s.remember, s.created, s.expiry = s.itemsBuf[:0], false, 0, 0
		s.user, s.handle, s.gen = "", "", 0
		return nil
	}
	s.id, s.key, s.exists = token, key, true
	return nil
}

// countRecordsOver is the size above which decode counts a record's
// entries before it allocates (see there).
const countRecordsOver = 1 << 10

// decode fills s from a record, dropping keys whose own deadline passed.
func (m *Manager) decode(s *Session, data []byte, now time.Time) error {
	h, err := record.ParseHeader(data)
	if err != nil {
		return err
	}
	s.remember, s.expiry, s.created = h.Remember, unixNano(h.Expiry), unixNano(h.Created)
	// For a large record, counting the entries first checks it before
	// anything is allocated and sizes items once: appending to a slice that
	// grows by a quarter at a time would allocate several times its final
	// size. A small record (the usual one) is walked once: appending wastes
	// a few KiB at most there, less than the second walk would cost.
	if len(data) > countRecordsOver {
		n, err := record.Count(data)
		if err != nil {
			return err
		}
		if n > cap(s.items) {
			s.items = make([]item, 0, n)
		}
	}
	var derr error
	err = record.Walk(data, func(key, entry []byte) {
		if derr != nil {
			return
		}
		if string(key) == record.BindingKey {
			b, err := record.DecodeBinding(entry)
			if err != nil {
				derr = err
				return
			}
			s.user, s.handle, s.gen = b.User, b.Handle, b.Gen
			return
		}
		deadline, enc, err := record.DecodeEntry(entry)
		if err != nil {
			derr = err
			return
		}
		if !deadline.IsZero() && !now.Before(deadline) {
			return
		}
		v, err := m.cfg.codec.Decode(enc)
		if err != nil {
			derr = fmt.Errorf("key %q: %w", key, err)
			return
		}
		s.items = append(s.items, item{key: string(key), val: v, deadline: unixNano(deadline), size: entrySize(len(key), len(entry))})
	})
	if err != nil {
		return err
	}
	return derr
}
