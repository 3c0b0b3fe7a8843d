package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// StaleGrace is how long the cleanup keeps a user index entry after it
// first found the entry's record missing: long enough for a Renew between
// its Take (which leaves the entry) and its create (which repoints it).
const StaleGrace = time.Minute

// stampedGen is the generation stamped into a new binding. The index
// files a binding by user key and handle, and a handle is new for every
// binding, so one value serves (see [record.Binding]).
const stampedGen = 1

// lockEntry is the row transaction's lock query of b's index entry.
func (s *Store) lockEntry(b record.Binding) *Stmt {
	return &Stmt{Query: s.q.LockEntry, Args: []any{s.key(record.UserKey(b.User)), s.key(b.Handle)}}
}

// sameBinding reports whether the record old is bound as a delta's result
// is (bound as b, or not bound), with a generation stamped: then the
// delta leaves the index as it is.
func sameBinding(old []byte, b record.Binding, bound bool) bool {
	ob, obound, err := record.FindBinding(old)
	if err != nil || obound != bound {
		return false
	}
	return !bound || ob == b && b.Gen != 0
}

// boundAs reports whether the record data is bound to the user whose user
// key is userKey, with the handle handle.
func boundAs(data []byte, userKey, handle string) bool {
	b, found, err := record.FindBinding(data)
	return err == nil && found && b.Handle == handle && record.UserKey(b.User) == userKey
}

// reindex returns the statements that keep the user index when data,
// bound as b (when bound), is written over the row r under the key k, and
// stamps a new binding's generation into data. create says that no live
// record is replaced: a create carrying a binding (Gen not 0) then needs
// its entry, which r.Locked reports, and repoints it to k.
func (s *Store) reindex(k any, r Row, data []byte, b record.Binding, bound, create bool) ([]Stmt, error) {
	var also []Stmt
	var ob record.Binding
	obound := false
	if r.Found {
		var err error
		if ob, obound, err = record.FindBinding(r.Data); err != nil {
			obound = false // a corrupt record: its entry, if any, is stale
		}
	}
	same := obound && bound && ob.User == b.User && ob.Handle == b.Handle
	if obound && !same {
		also = append(also, Stmt{Query: s.q.Unindex, Args: []any{s.key(record.UserKey(ob.User)), s.key(ob.Handle), k}})
	}
	if !bound {
		return also, nil
	}
	uk, h := s.key(record.UserKey(b.User)), s.key(b.Handle)
	switch {
	case create && b.Gen != 0:
		if !r.Locked {
			return nil, fmt.Errorf("the binding's user index entry is gone (the user's sessions were destroyed): %w", core.ErrSessionGone)
		}
		also = append(also, Stmt{Query: s.q.Repoint, Args: []any{k, uk, h}})
	case b.Gen == 0:
		if _, err := record.SetGen(data, stampedGen); err != nil {
			return nil, err
		}
		also = append(also, Stmt{Query: s.q.Index, Args: []any{uk, h, k}})
	case same && ob.Gen == b.Gen:
		// The entry names this record already.
	default:
		also = append(also, Stmt{Query: s.q.Index, Args: []any{uk, h, k}})
	}
	return also, nil
}

// saveBound is Save of a record bound as b: a row transaction writing the
// record and its index entry.
func (s *Store) saveBound(ctx context.Context, key string, data []byte, expiry time.Time, b record.Binding) error {
	data = bytes.Clone(data) // stamped in place
	k, exp := s.key(key), Nanos(expiry)
	var lock *Stmt
	if b.Gen != 0 {
		lock = s.lockEntry(b)
	}
	err := s.retry(ctx, func() error {
		op := None
		n, err := s.ex.RowTx(ctx, &s.q, k, lock, func(r Row) (Write, error) {
			create := !r.Found || r.Exp <= time.Now().UnixNano()
			also, err := s.reindex(k, r, data, b, true, create)
			if err != nil {
				return Write{}, errRefused{err}
			}
			op = Update
			if !r.Found {
				op = Insert
			}
			return Write{Op: op, Data: data, Exp: exp, Also: also}, nil
		})
		if err == nil && op == Insert && n == 0 {
			return errRetry // the insert found a row inserted meanwhile
		}
		return err
	})
	if r, ok := errors.AsType[errRefused](err); ok {
		return fmt.Errorf("%s: save: %w", s.d.Name, r.err)
	}
	if err != nil {
		return s.fail(ctx, "save", err)
	}
	return nil
}

// UserSessions returns the live records bound to the user whose user key
// is userKey, in one query joining the user index and the session table;
// each is checked against its binding, so that a stale entry is skipped.
func (s *Store) UserSessions(ctx context.Context, userKey string) ([]core.UserRecord, error) {
	if err := s.check(ctx, "user sessions"); err != nil {
		return nil, err
	}
	now := time.Now()
	var out []core.UserRecord
	err := s.retry(ctx, func() error {
		out = out[:0]
		return s.ex.Query(ctx, s.q.UserSessions, []any{s.key(userKey), now.UnixNano()}, func(scan func(...any) error) error {
			var (
				key, data, handle []byte
				exp               int64
			)
			if err := scan(&key, &data, &exp, &handle); err != nil {
				return err
			}
			if live(data, exp, now) && boundAs(data, userKey, string(handle)) {
				out = append(out, core.UserRecord{Key: string(key), Data: data})
			}
			return nil
		})
	})
	if err != nil {
		return nil, s.fail(ctx, "user sessions", err)
	}
	return out, nil
}

// DeleteUserSessions deletes the live records bound to the user whose
// user key is userKey and whose handles match accepts, in one transaction
// that locks the user's index entries (SELECT ... FOR UPDATE; SQLite's
// write lock), reads the records they name, deletes those still bound to
// the user, and deletes the entries match accepted, including stale ones:
// a Renew that took its record before and creates the new one after finds
// no entry and fails with [core.ErrSessionGone]. A bind, a rebind or a
// carried Renew of one of these entries waits for the transaction's end.
func (s *Store) DeleteUserSessions(ctx context.Context, userKey string, match func(handle string) bool) ([]string, error) {
	if err := s.check(ctx, "delete user sessions"); err != nil {
		return nil, err
	}
	uk := s.key(userKey)
	var handles, keys []string
	err := s.retry(ctx, func() error {
		handles, keys = handles[:0], keys[:0]
		now := time.Now()
		return s.ex.UserTx(ctx, &s.q, uk, func(rows []UserRow) ([]Stmt, error) {
			var stmts []Stmt
			for _, r := range rows {
				h := string(r.Handle)
				if !match(h) {
					continue
				}
				if r.Data != nil && live(r.Data, r.Exp, now) && boundAs(r.Data, userKey, h) {
					stmts = append(stmts, Stmt{Query: s.q.Delete, Args: []any{s.key(string(r.Key))}})
					handles = append(handles, h)
					keys = append(keys, string(r.Key))
				}
				stmts = append(stmts, Stmt{Query: s.q.Drop, Args: []any{uk, s.key(h)}})
			}
			return stmts, nil
		})
	})
	for _, k := range keys {
		s.forget(k)
	}
	if err != nil {
		return nil, s.fail(ctx, "delete user sessions", err)
	}
	return handles, nil
}
