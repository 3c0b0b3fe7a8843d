package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
)

// CommitResult says what a commit implies for the response. Pass it to
// [Manager.WriteHeaders], or, for a framework without net/http headers,
// send its Cookie (cookie mode) or Token (header mode) yourself.
type CommitResult struct {
	// Token is the session's token after the commit: its ID, or "" when
	// the session was destroyed or never created.
	Token string
	// Expiry is the session's deadline after the commit (zero: none).
	Expiry time.Time
	// Cookie is the Set-Cookie to send in cookie mode, nil when none is due
	// (a browser-session cookie that did not change is not re-sent).
	Cookie *http.Cookie
	// SendToken is set in header mode when the token header must be sent:
	// for a new or rotated token, or empty after Destroy.
	SendToken bool
	// Vary is set when the request carried or set a session, so the
	// response varies on the cookie (or token header).
	Vary bool
}

// Commit saves what the request changed in s and says what to send. It is
// the low-level half under every middleware: call it right before the
// response headers are written, and send what [CommitResult] says. A
// request that changed nothing writes nothing, except that a live session
// under rolling expiry gets its deadline moved at most once per touch
// interval.
//
// A save for a session that was deleted meanwhile (a logout in another
// tab, a Renew, expiry) is dropped rather than resurrecting it. The first
// Commit of a session marks its headers as sent: a later Commit (changes
// made after the body started) saves the changes but returns an error
// wrapping [ErrHeadersWritten] for what needs headers (Renew, Destroy's
// cookie, a new session's cookie).
//
// Events (see [WithEvents]) are delivered after the session's lock is
// released, once the store writes they report have succeeded.
func (m *Manager) Commit(ctx context.Context, s *Session) (CommitResult, error) {
	res, pending, err := m.commitLocked(ctx, s)
	for _, e := range pending {
		m.cfg.events(ctx, e)
	}
	return res, err
}

// commitLocked is Commit under the session's lock; it returns the events
// to deliver.
func (m *Manager) commitLocked(ctx context.Context, s *Session) (res CommitResult, pending []Event, err error) {
	s.mu.Lock()
	defer func() {
		pending, s.pending = s.pending, nil
		s.mu.Unlock()
	}()
	res, err = m.commit(ctx, s)
	return res, nil, err
}

func (m *Manager) commit(ctx context.Context, s *Session) (CommitResult, error) {
	late := s.committed
	s.committed = true
	now := m.cfg.clock()
	res := CommitResult{Vary: s.carried}

	if s.destroy {
		if s.exists {
			if err := m.store.Delete(ctx, s.key); err != nil {
				return res, fmt.Errorf("core: destroy session %s: %w", logKey(s.key), err)
			}
		}
		existed := s.exists
		if existed {
			m.emit(s, Event{Kind: EventDestroyed, Cause: CauseSession, User: s.prevUser, Handle: s.prevHandle, Key: s.key, Time: now})
		}
		s.id, s.key, s.exists, s.destroy, s.renew = "", "", false, false, false
		s.created, s.expiry, s.prevUser, s.prevHandle = 0, 0, "", ""
		if !s.hasSetItems() && s.user == "" {
			s.resetChanges()
			if late {
				return res, fmt.Errorf("%w: the destroyed session's cookie could not be expired", ErrHeadersWritten)
			}
			if existed || s.carried {
				m.expireResult(&res)
			}
			return res, nil
		}
		// Values set after Destroy start a new session.
		return m.create(ctx, s, now, late, res)
	}
	if !s.exists {
		if !s.touched {
			return res, nil
		}
		return m.create(ctx, s, now, late, res)
	}
	if s.renew {
		if late {
			return res, fmt.Errorf("%w: Renew cannot send the new cookie", ErrHeadersWritten)
		}
		return m.renew(ctx, s, now, res)
	}
	if s.touched {
		return m.saveDelta(ctx, s, now, late, res)
	}
	return m.touch(ctx, s, now, late, res)
}

// renew moves s to a new ID: it takes the old record (delete if live)
// and only then inserts the new one. Where the store has [TakeStore] the
// take is atomic, so that a session deleted meanwhile (logout elsewhere,
// another Renew, expiry) is not brought back under a new ID and two
// concurrent Renews cannot fork one session into two; a store with only
// the three [Store] methods gets the best effort of take (load, then
// delete), where both of two concurrent Renews may succeed. Either way
// out of the two steps leaves at most one live record.
func (m *Manager) renew(ctx context.Context, s *Session, now time.Time, res CommitResult) (CommitResult, error) {
	oldKey := s.key
	_, found, err := take(ctx, m.store, oldKey, now)
	if err != nil {
		// Nothing was written: the session stays as it was.
		return res, fmt.Errorf("core: renew session: take old record %s: %w", logKey(oldKey), err)
	}
	if !found {
		m.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "sessionkit: renew of a session deleted meanwhile; a new empty session replaces it",
			slog.String("key", logKey(oldKey)))
		m.abandon(s, &res)
		return res, fmt.Errorf("core: renew session %s: %w", logKey(oldKey), ErrSessionGone)
	}
	res, err = m.create(ctx, s, now, false, res)
	if errors.Is(err, ErrSessionGone) {
		// The store refused to carry the user binding to the new record:
		// the session was destroyed by DestroyUserSessions or
		// DestroySession between the take and the insert.
		m.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "sessionkit: renew of a session its user's sessions were destroyed meanwhile; a new empty session replaces it",
			slog.String("key", logKey(oldKey)))
		m.abandon(s, &res)
		return res, fmt.Errorf("core: renew session %s: %w", logKey(oldKey), ErrSessionGone)
	}
	if err != nil {
		// The old record is gone and the new one was not written: the user
		// is logged out, which is safer than a second live session.
		m.abandon(s, &res)
		return res, fmt.Errorf("core: renew session: old record %s deleted, new one not saved, session lost: %w", logKey(oldKey), err)
	}
	return res, nil
}

// abandon turns s, whose record no longer exists, into a new empty
// session and sets res to expire the client's token.
func (m *Manager) abandon(s *Session, res *CommitResult) {
	clear(s.items)
	s.items = s.items[:0]
	s.id, s.key, s.exists = "", "", false
	s.created, s.expiry, s.remember = 0, 0, false
	s.user, s.handle, s.gen = "", "", 0
	s.resetChanges()
	m.expireResult(res)
}

func (s *Session) hasSetItems() bool {
	for i := range s.items {
		if s.items[i].state == stateSet {
			return true
		}
	}
	return false
}

// resetChanges marks every change as saved.
func (s *Session) resetChanges() {
	n := 0
	for i := range s.items {
		if s.items[i].state == stateDeleted {
			continue
		}
		if n != i {
			s.items[n] = s.items[i]
		}
		s.items[n].state = stateClean
		n++
	}
	clear(s.items[n:])
	s.items = s.items[:n]
	s.cleared, s.renew, s.rememberCh, s.touched, s.bindCh = false, false, false, false, false
}

// create writes s as a new record under a new ID, insert-if-absent.
func (m *Manager) create(ctx context.Context, s *Session, now time.Time, late bool, res CommitResult) (CommitResult, error) {
	if late {
		s.resetChanges()
		return res, fmt.Errorf("%w: a new session cannot send its cookie, its data is not saved", ErrHeadersWritten)
	}
	if s.created == 0 || !s.renew {
		s.created = unixNano(now)
	}
	created := timeOf(s.created)
	expiry := m.deadline(created, now, s.remember)
	d, err := m.encode(s, now, true)
	if err != nil {
		return res, err
	}
	d.Create, d.Header, d.Expiry = true, d.header(s.remember, created, expiry), expiry
	var id, key string
	for attempt := 0; ; attempt++ {
		id = newID()
		key = storeKey(id)
		err = saveDelta(ctx, m.store, key, &d.Delta, now)
		if !errors.Is(err, ErrSessionExists) || attempt == 2 {
			break
		}
	}
	if err != nil {
		return res, fmt.Errorf("core: save new session %s: %w", logKey(key), err)
	}
	if m.cfg.events != nil {
		if s.renew && s.exists {
			m.emit(s, Event{Kind: EventRenewed, User: s.user, Handle: s.handle, Key: key, PrevKey: s.key, Time: now})
		} else {
			m.emit(s, Event{Kind: EventCreated, User: s.user, Handle: s.handle, Key: key, Time: now})
		}
		if s.bindCh && s.user != "" {
			m.emit(s, Event{Kind: EventBound, User: s.user, Handle: s.handle, Key: key, Time: now})
		}
	}
	s.id, s.key, s.exists, s.expiry = id, key, true, unixNano(expiry)
	s.resetChanges()
	res.Token, res.Expiry, res.Vary = id, expiry, true
	res.SendToken = m.cfg.headerName != ""
	if !res.SendToken {
		res.Cookie = m.cfg.cookieFor(id, expiry, now, s.remember || m.cfg.cookie.Persist)
	}
	return res, nil
}

// saveDelta saves the changes of an existing session.
func (m *Manager) saveDelta(ctx context.Context, s *Session, now time.Time, late bool, res CommitResult) (CommitResult, error) {
	created := timeOf(s.created)
	expiry := m.deadline(created, now, s.remember)
	d, err := m.encode(s, now, false)
	if err != nil {
		return res, err
	}
	d.Clear, d.Expiry = s.cleared, expiry
	if s.rememberCh {
		d.Header = d.header(s.remember, created, expiry)
	}
	err = saveDelta(ctx, m.store, s.key, &d.Delta, now)
	newHeader := d.Header != nil
	if errors.Is(err, ErrSessionGone) {
		// Deleted meanwhile (logout, Renew or expiry elsewhere): dropping
		// these changes is the rule, and the cookie is left alone since it
		// may already name the session that replaced this one.
		m.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "sessionkit: changes to a session deleted meanwhile were dropped",
			slog.String("key", logKey(s.key)))
		s.exists = false
		s.resetChanges()
		return res, nil
	}
	if err != nil {
		if late {
			err = fmt.Errorf("%w: %w", ErrHeadersWritten, err)
		}
		return res, fmt.Errorf("core: save session %s: %w", logKey(s.key), err)
	}
	if s.bindCh {
		m.emit(s, Event{Kind: EventBound, User: s.user, Handle: s.handle, Key: s.key, Time: now})
	}
	persist := s.remember || m.cfg.cookie.Persist
	if exp := unixNano(expiry); newHeader || exp > s.expiry {
		s.expiry = exp
	}
	rememberCh := s.rememberCh
	s.resetChanges()
	res.Token, res.Expiry = s.id, timeOf(s.expiry)
	if !late && m.cfg.headerName == "" && (persist || rememberCh) {
		res.Cookie = m.cfg.cookieFor(s.id, res.Expiry, now, persist)
		res.Vary = true
	}
	return res, nil
}

// touch extends the deadline of an unmodified session under rolling
// expiry, at most once per touch interval.
func (m *Manager) touch(ctx context.Context, s *Session, now time.Time, late bool, res CommitResult) (CommitResult, error) {
	res.Token, res.Expiry = s.id, timeOf(s.expiry)
	if !m.cfg.rolling {
		return res, nil
	}
	idle, _ := m.timeouts(s.remember)
	expiry := m.deadline(timeOf(s.created), now, s.remember)
	lastExtended := res.Expiry.Add(-idle)
	if !expiry.After(res.Expiry) || now.Sub(lastExtended) < m.touchInterval(idle) {
		return res, nil
	}
	if err := touch(ctx, m.store, s.key, expiry); err != nil {
		if late {
			err = fmt.Errorf("%w: %w", ErrHeadersWritten, err)
		}
		return res, fmt.Errorf("core: touch session %s: %w", logKey(s.key), err)
	}
	s.expiry = unixNano(expiry)
	res.Expiry = expiry
	if !late && m.cfg.headerName == "" && (s.remember || m.cfg.cookie.Persist) {
		res.Cookie = m.cfg.cookieFor(s.id, expiry, now, true)
	}
	return res, nil
}

func (m *Manager) expireResult(res *CommitResult) {
	res.Vary = true
	if m.cfg.headerName != "" {
		res.SendToken = true
		return
	}
	ck := m.cfg.cookieFor("", time.Time{}, time.Time{}, false)
	ck.MaxAge = -1
	ck.Expires = time.Unix(1, 0)
	res.Cookie = ck
}

// entrySize is the number of bytes an entry takes in a record.
func entrySize(keyLen, entryLen int) int32 {
	return int32(min(record.EntrySize(keyLen, entryLen), math.MaxInt32)) // WithMaxSize caps the limit at MaxInt32
}

// encode turns the changed items of s (all live items when full) into
// record entries sharing one buffer, and lists the deleted keys. It
// enforces WithMaxSize on the whole record the commit leaves: the encoded
// entries plus, for a delta, the unchanged entries as loaded.
func (m *Manager) encode(s *Session, now time.Time, full bool) (*commitDelta, error) {
	n := 0
	for i := range s.items {
		if full || s.items[i].state == stateSet {
			n++
		}
	}
	var del []string
	var offs [16]int
	ends := offs[:0]
	// The usual commit sets a few keys: the delta, its entries and their
	// bytes live in the session's own room (see commitDelta).
	d := &s.delta
	*d = commitDelta{}
	entries, buf := d.entries[:0], d.buf[:0]
	if n > len(d.entries) {
		entries, buf = make([]record.Entry, 0, n), make([]byte, 0, 32*n+16)
	}
	total := record.HeaderSize
	fail := func(err error) (*commitDelta, error) {
		return nil, err
	}
	for i := range s.items {
		it := &s.items[i]
		expired := it.deadline != 0 && now.UnixNano() >= it.deadline
		switch {
		case it.state == stateDeleted || (it.state == stateSet && expired):
			if !full {
				del = append(del, it.key)
			}
			continue
		case expired:
			continue
		case !full && it.state != stateSet:
			total += int(it.size) // kept in the record as loaded
			continue
		}
		start := len(buf)
		buf = record.AppendEntryDeadline(buf, timeOf(it.deadline))
		var err error
		buf, err = m.cfg.codec.Encode(buf, it.val)
		if err != nil {
			return fail(fmt.Errorf("core: session key %q: %w", it.key, err))
		}
		it.size = entrySize(len(it.key), len(buf)-start)
		total += int(it.size)
		if total > m.cfg.maxSize {
			return fail(fmt.Errorf("%w: over the %d-byte limit set by WithMaxSize", ErrTooLarge, m.cfg.maxSize))
		}
		entries = append(entries, record.Entry{Key: it.key})
		ends = append(ends, len(buf))
	}
	// The binding is written with every full record and by a delta that
	// changes it; a delta that clears the record keeps the stored one (see
	// record.Delta), so a binding read before another request changed it
	// is never written back.
	if s.user != "" && (full || s.bindCh) {
		start := len(buf)
		var err error
		buf, err = record.EncodeBinding(buf, record.Binding{User: s.user, Handle: s.handle, Gen: s.gen})
		if err != nil {
			return fail(fmt.Errorf("core: session user binding: %w", err))
		}
		total += int(entrySize(len(record.BindingKey), len(buf)-start))
		if total > m.cfg.maxSize {
			return fail(fmt.Errorf("%w: over the %d-byte limit set by WithMaxSize", ErrTooLarge, m.cfg.maxSize))
		}
		entries = append(entries, record.Entry{Key: record.BindingKey})
		ends = append(ends, len(buf))
	} else if s.user == "" && s.bindCh && !full {
		del = append(del, record.BindingKey)
	}
	// Checked again with the unchanged entries counted in full; a commit
	// that sets nothing only shrinks the record and is never refused.
	if len(entries) > 0 && total > m.cfg.maxSize {
		return fail(fmt.Errorf("%w: over the %d-byte limit set by WithMaxSize", ErrTooLarge, m.cfg.maxSize))
	}
	start := 0
	for i := range entries {
		entries[i].Value = buf[start:ends[i]:ends[i]]
		start = ends[i]
	}
	d.Set, d.Delete = entries, del
	return d, nil
}

// commitDelta is the delta of one commit with room for what a commit of a
// few keys needs. Each Session has its own (a Session lives for one
// request), so the usual commit allocates nothing for its delta, and
// nothing of one session's delta can reach another's. A second commit of
// the same session (changes after the body started) starts from a zero
// commitDelta; stores do not keep a delta after SaveDelta returns (see
// [record.Delta]).
type commitDelta struct {
	record.Delta
	hdr     [record.HeaderSize]byte
	entries [2]record.Entry
	buf     [64]byte
}

// header returns a record header in d's own room.
func (d *commitDelta) header(remember bool, created, expiry time.Time) []byte {
	return record.AppendHeader(d.hdr[:0], record.Header{Remember: remember, Created: created, Expiry: expiry})
}
