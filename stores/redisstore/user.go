package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

var _ core.UserStore = (*Store)(nil)

// userPrefix follows the store's prefix in the key of a user's index hash:
// prefix + "u:" + user key. Session keys of that form (core's are 64 hex
// digits, never one) would share the index's Redis key.
const userPrefix = "u:"

// takenGrace is how long the taken mark of a bound record (see takeScript)
// keeps its index entry from being pruned while the Renew that took it
// carries the binding to a new key.
const takenGrace = time.Minute

// undoTimeout bounds the delete of a record created whose binding could
// not be indexed, which runs even when the caller's context is done.
const undoTimeout = 5 * time.Second

// newGen is the generation stamped into a new binding: any value but 0
// tells a binding written before from a new one, and Redis keeps no
// per-user generation.
const newGen = 1

func (s *Store) userHash(userKey string) string {
	return s.prefix + userPrefix + userKey
}

// isUserHash reports whether the Redis key k (with the prefix) is the
// index hash of a user, so that the walks over sessions skip it.
func (s *Store) isUserHash(k string) bool {
	rest := k[len(s.prefix):]
	if len(rest) != len(userPrefix)+64 || rest[:len(userPrefix)] != userPrefix {
		return false
	}
	for _, c := range []byte(rest[len(userPrefix):]) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// saveDeltaIndexed applies d (its header already prepared) to the record
// under key and keeps the user index, in the order that lets no live
// bound record go without its entry (see the package doc, "User index").
// A delta that leaves the binding as it is costs the one script call.
func (s *Store) saveDeltaIndexed(ctx context.Context, key string, d *record.Delta) error {
	const op = "save delta"
	mode := "u"
	if d.Create {
		mode = "c"
	}
	b, bound, changed, err := record.DeltaBinding(d)
	if err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	switch {
	case !changed || (!bound && d.Create):
		// No binding change, or a new unbound session: no index work.
		_, err := s.run(ctx, op, mode, key, d, time.Now(), false)
		return err
	case !bound:
		// Unbound: the entry goes after the record.
		old, err := s.run(ctx, op, mode, key, d, time.Now(), true)
		if err != nil {
			return err
		}
		s.dropOld(ctx, key, old, nil)
		return nil
	case d.Create && b.Gen == 0:
		// A new binding of a new record: the key is known to no client
		// before SaveDelta returns, so the entry may follow the record.
		d = stamped(d)
		if _, err := s.run(ctx, op, mode, key, d, time.Now(), false); err != nil {
			return err
		}
		if err := s.client.HSet(ctx, s.userHash(record.UserKey(b.User)), b.Handle, key).Err(); err != nil {
			return s.undoCreate(ctx, op, key, fmt.Errorf("indexing the new session: %w", err))
		}
		return nil
	case d.Create:
		// A Renew carrying the binding: the record first, then the entry
		// is repointed to it if it is still there.
		if _, err := s.run(ctx, op, mode, key, d, time.Now(), false); err != nil {
			return err
		}
		n, err := repointScript.Run(ctx, s.client, []string{s.userHash(record.UserKey(b.User))}, b.Handle, key).Int64()
		if err != nil {
			return s.undoCreate(ctx, op, key, fmt.Errorf("repointing the user index: %w", err))
		}
		if n == 0 {
			return s.undoCreate(ctx, op, key, fmt.Errorf("the sessions of the user were destroyed meanwhile: %w", core.ErrSessionGone))
		}
		return nil
	}
	// Binding an existing record (or writing its binding again): the
	// entry first.
	return s.bindExisting(ctx, op, mode, key, d, b)
}

// saveIndexed is Save's write: a whole record, which may bind a record
// that exists already, so a binding's entry is written first.
func (s *Store) saveIndexed(ctx context.Context, key string, d *record.Delta) error {
	const op = "save"
	b, bound, _, err := record.DeltaBinding(d)
	if err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if !bound {
		old, err := s.run(ctx, op, "p", key, d, time.Now(), true)
		if err != nil {
			return err
		}
		s.dropOld(ctx, key, old, nil)
		return nil
	}
	uh := s.userHash(record.UserKey(b.User))
	if b.Gen != 0 {
		// A binding a store stamped before: written only while its entry
		// is there (a Renew's carried record, or a copy of a live one),
		// so that no Save brings back a session whose user's sessions
		// were destroyed. The record first, then the entry is repointed
		// to it, or the record goes again.
		old, err := s.run(ctx, op, "p", key, d, time.Now(), true)
		if err != nil {
			return err
		}
		n, err := repointScript.Run(ctx, s.client, []string{uh}, b.Handle, key).Int64()
		if err != nil {
			return s.undoCreate(ctx, op, key, fmt.Errorf("repointing the user index: %w", err))
		}
		if n == 0 {
			return s.undoCreate(ctx, op, key, fmt.Errorf("the sessions of the user were destroyed meanwhile: %w", core.ErrSessionGone))
		}
		s.dropOld(ctx, key, old, &b)
		return nil
	}
	// A new binding: the entry before the record (Save may overwrite a
	// record a client holds), and again after it, since a listing that ran
	// in between found no record and may have pruned it.
	if err := s.bindExisting(ctx, op, "p", key, d, b); err != nil {
		return err
	}
	if err := s.client.HSet(ctx, uh, b.Handle, key).Err(); err != nil {
		return fmt.Errorf("redisstore: %s: indexing the session: %w", op, err)
	}
	return nil
}

// bindExisting writes the index entry of b, then the record; an entry of
// another binding the record held before goes after it.
//
// A new binding (Gen 0, a new handle) sets its entry. A binding written
// again (Gen not 0) only adds its entry if there is none:
// an entry naming another key is a Renew's, which took this record and
// repointed the entry to the new one; overwriting it would hide that
// record from the index (this write then fails, the record being gone).
func (s *Store) bindExisting(ctx context.Context, op, mode, key string, d *record.Delta, b record.Binding) error {
	uh := s.userHash(record.UserKey(b.User))
	var err error
	if b.Gen == 0 {
		d = stamped(d)
		err = s.client.HSet(ctx, uh, b.Handle, key).Err()
	} else {
		err = s.client.HSetNX(ctx, uh, b.Handle, key).Err()
	}
	if err != nil {
		return fmt.Errorf("redisstore: %s: indexing the session: %w", op, err)
	}
	old, err := s.run(ctx, op, mode, key, d, time.Now(), true)
	if errors.Is(err, core.ErrSessionGone) && b.Gen == 0 {
		// Nothing to bind: the entry just written is stale already. (An
		// entry of a binding written again may be a Renew's, waiting to
		// be repointed: it stays, and is pruned on read if stale.)
		s.unindex(ctx, uh, []string{b.Handle, key})
	}
	if err != nil {
		return err
	}
	s.dropOld(ctx, key, old, &b)
	return nil
}

// dropOld removes the index entry of the binding entry old that the
// record under key held before a write, unless it is the binding now. It
// is housekeeping after a write that succeeded, so a failure is not the
// write's: the entry left behind names a record bound otherwise, which
// every read skips, and is pruned once that record is gone.
func (s *Store) dropOld(ctx context.Context, key string, old []byte, now *record.Binding) {
	if old == nil {
		return
	}
	ob, err := record.DecodeBinding(old)
	if err != nil || (now != nil && ob.User == now.User && ob.Handle == now.Handle) {
		return
	}
	s.unindex(ctx, s.userHash(record.UserKey(ob.User)), []string{ob.Handle, key})
}

// undoCreate deletes the record just created under key whose binding
// could not be indexed, and returns cause. The key has not reached any
// client yet; if the delete fails too, the record is live but unreachable
// until its TTL ends.
func (s *Store) undoCreate(ctx context.Context, op, key string, cause error) error {
	// Deleted even when ctx is done: the record must not outlive the
	// failed call.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	if err := s.client.Del(ctx, s.prefix+key).Err(); err != nil {
		return fmt.Errorf("redisstore: %s: %w (and deleting the new record: %v)", op, cause, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, cause)
}

// stamped returns d with a new generation in the binding it sets. The
// delta's slices are the caller's: the Set slice and the binding value are
// copied.
func stamped(d *record.Delta) *record.Delta {
	dd := *d
	dd.Set = slices.Clone(d.Set)
	for i := len(dd.Set) - 1; i >= 0; i-- {
		if dd.Set[i].Key == record.BindingKey {
			v := bytes.Clone(dd.Set[i].Value)
			// DeltaBinding decoded it already: it cannot fail.
			_ = record.SetEntryGen(v, newGen)
			dd.Set[i].Value = v
			break
		}
	}
	return &dd
}

// unindex runs unindexScript on the user hash uh with pairs of handle and
// key, and returns the handles of the entries it removed and the entries
// that name another key now, as a map from handle to key.
func (s *Store) unindex(ctx context.Context, uh string, pairs []string) (removed map[string]bool, moved map[string]string, err error) {
	if len(pairs) == 0 {
		return nil, nil, nil
	}
	args := make([]any, len(pairs))
	for i, p := range pairs {
		args[i] = p
	}
	res, err := unindexScript.Run(ctx, s.client, []string{uh}, args...).Slice()
	if err != nil {
		return nil, nil, err
	}
	var rm, mv []any
	if len(res) == 2 {
		rm, _ = res[0].([]any)
		mv, _ = res[1].([]any)
	}
	if len(res) != 2 || rm == nil && res[0] != nil || mv == nil && res[1] != nil || len(mv)%2 != 0 {
		return nil, nil, fmt.Errorf("unexpected script reply %v", res)
	}
	removed = make(map[string]bool, len(rm))
	for _, h := range rm {
		h, _ := h.(string)
		removed[h] = true
	}
	for i := 0; i < len(mv); i += 2 {
		h, _ := mv[i].(string)
		k, _ := mv[i+1].(string)
		if moved == nil {
			moved = make(map[string]string)
		}
		moved[h] = k
	}
	return removed, moved, nil
}

// UserSessions returns the live records bound to the user whose user key
// is userKey: one HGETALL of the user's index hash, then one pipeline of
// HGETALLs of the sessions it names (split by node on a cluster). An
// entry whose record is missing or expired is pruned, with one more
// script call on the index hash, if it still names that record; the
// entry of a record that a Renew has just taken (see [Store.Take]) stays,
// for the Renew to repoint. The returned slices are new and the caller's
// to keep.
func (s *Store) UserSessions(ctx context.Context, userKey string) ([]core.UserRecord, error) {
	const op = "user sessions"
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	uh := s.userHash(userKey)
	entries, err := s.client.HGetAll(ctx, uh).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if len(entries) == 0 {
		return nil, nil
	}
	handles := make([]string, 0, len(entries))
	for h := range entries {
		handles = append(handles, h)
	}
	cmds := make([]*redis.MapStringStringCmd, len(handles))
	if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range handles {
			cmds[i] = p.HGetAll(ctx, s.prefix+entries[h])
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	now := time.Now()
	var out []core.UserRecord
	var stale []string
	for i, h := range handles {
		key := entries[h]
		fields := cmds[i].Val()
		data, ok := buildRecord(fields, now)
		if !ok {
			if _, taken := fields[fieldTaken]; !taken {
				stale = append(stale, h, key)
			}
			continue
		}
		b, found, err := record.FindBinding(data)
		if err != nil || !found || b.Handle != h || record.UserKey(b.User) != userKey {
			// Live but bound otherwise: a bind may be in flight, and a
			// live record's entry is never pruned.
			continue
		}
		out = append(out, core.UserRecord{Key: key, Data: data})
	}
	if _, _, err := s.unindex(ctx, uh, stale); err != nil {
		return nil, fmt.Errorf("redisstore: %s: pruning: %w", op, err)
	}
	return out, nil
}

// DeleteUserSessions deletes the live records bound to the user whose
// user key is userKey and whose handles match accepts, and returns their
// handles. It reads the user's index hash (HGETALL), the binding of each
// record an accepted entry names (one pipeline), deletes each record with
// a script that checks that the binding is still the one read (one
// pipeline), and then removes those entries, and the entries of missing
// records, with a script that removes an entry only while it names the
// key read. An entry that a Renew repointed to a new key meanwhile is
// read and deleted again, until none moves. A device caught mid-Renew
// (its record taken, see [Store.Take], the new one not indexed yet) is
// logged out by the removal of its entry, since its Renew then fails:
// its handle is among those returned. Entries match rejects, and entries
// of live records bound otherwise, are left alone.
func (s *Store) DeleteUserSessions(ctx context.Context, userKey string, match func(handle string) bool) ([]string, error) {
	const op = "delete user sessions"
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	uh := s.userHash(userKey)
	all, err := s.client.HGetAll(ctx, uh).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	pending := make(map[string]string, len(all))
	for h, k := range all {
		if match(h) {
			pending[h] = k
		}
	}
	var deleted []string
	for len(pending) > 0 {
		if err := ctx.Err(); err != nil {
			return deleted, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		gone, err := s.deleteBound(ctx, userKey, pending)
		if err != nil {
			return deleted, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		var pairs []string
		for h, k := range pending {
			if g, ok := gone[h]; ok {
				if g == goneDeleted {
					deleted = append(deleted, h)
				}
				pairs = append(pairs, h, k)
			}
		}
		// Every entry whose record is gone goes, unless a Renew moved it:
		// then the record it names now is the next one to delete.
		removed, moved, err := s.unindex(ctx, uh, pairs)
		if err != nil {
			return deleted, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		// A device caught mid-Renew (its record taken, the new one not
		// indexed yet) is logged out by the removal of its entry: its
		// Renew then finds none and fails.
		for h := range removed {
			if gone[h] == goneTaken {
				deleted = append(deleted, h)
			}
		}
		pending = moved
	}
	slices.Sort(deleted)
	return slices.Compact(deleted), nil
}

// What deleteBound found of a record an entry names.
const (
	goneMissing = iota + 1 // missing or not live
	goneTaken              // taken by a Renew in flight: a taken mark
	goneDeleted            // live and bound to the user: deleted now
)

// deleteBound deletes the records entries (handle to key) name that are
// live and bound to userKey under that handle. gone reports, by handle,
// the entries whose record is not there any more, and why. An entry of a
// live record bound otherwise is not in it.
func (s *Store) deleteBound(ctx context.Context, userKey string, entries map[string]string) (gone map[string]int, err error) {
	handles := make([]string, 0, len(entries))
	for h := range entries {
		handles = append(handles, h)
	}
	reads := make([]*redis.SliceCmd, len(handles))
	if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range handles {
			reads[i] = p.HMGet(ctx, s.prefix+entries[h], fieldHeader, entryPrefix+record.BindingKey, fieldTaken)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	now := time.Now()
	gone = make(map[string]int, len(handles))
	var doomed []string // handles whose records are to be deleted
	var want []string   // the binding each must still hold
	for i, h := range handles {
		v := reads[i].Val()
		header, _ := v[0].(string)
		if !record.Live([]byte(header), now) {
			gone[h] = goneMissing
			if v[2] != nil {
				gone[h] = goneTaken
			}
			continue
		}
		raw, _ := v[1].(string)
		if raw == "" {
			continue
		}
		b, err := record.DecodeBinding([]byte(raw))
		if err != nil || b.Handle != h || record.UserKey(b.User) != userKey {
			continue
		}
		doomed = append(doomed, h)
		want = append(want, raw)
	}
	if len(doomed) == 0 {
		return gone, nil
	}
	ts := timeBytes(now)
	calls := make([]scriptCall, len(doomed))
	for i, h := range doomed {
		calls[i] = scriptCall{s.prefix + entries[h], []any{ts, want[i]}}
	}
	cmds, err := evalAll(ctx, s.client, delBoundScript, calls)
	if err != nil {
		return nil, err
	}
	for i, h := range doomed {
		n, err := cmds[i].Int64()
		if err != nil {
			return nil, err
		}
		switch n {
		case 1:
			gone[h] = goneDeleted
		case 0:
			gone[h] = goneMissing
		case 3:
			gone[h] = goneTaken
		}
	}
	return gone, nil
}

// pruneUsers removes from the index hashes uhs (Redis keys, all on the
// node c) the entries whose records are gone, as listing does: one
// pipeline of HGETALLs, one of HMGETs of the records' header and taken
// mark, one of unindexScript calls.
func (s *Store) pruneUsers(ctx context.Context, c redis.Cmdable, uhs []string) error {
	idx := make([]*redis.MapStringStringCmd, len(uhs))
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, uh := range uhs {
			idx[i] = p.HGetAll(ctx, uh)
		}
		return nil
	}); err != nil {
		return err
	}
	type entry struct {
		uh, handle, key string
		cmd             *redis.SliceCmd
	}
	var entries []entry
	for i, uh := range uhs {
		for h, k := range idx[i].Val() {
			entries = append(entries, entry{uh: uh, handle: h, key: k})
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range entries {
			entries[i].cmd = p.HMGet(ctx, s.prefix+entries[i].key, fieldHeader, fieldTaken)
		}
		return nil
	}); err != nil {
		return err
	}
	now := time.Now()
	stale := make(map[string][]any)
	var order []string
	for _, e := range entries {
		v := e.cmd.Val()
		header, _ := v[0].(string)
		if header != "" && record.Live([]byte(header), now) || v[1] != nil {
			continue // live, or taken by a Renew in flight
		}
		if stale[e.uh] == nil {
			order = append(order, e.uh)
		}
		stale[e.uh] = append(stale[e.uh], e.handle, e.key)
	}
	calls := make([]scriptCall, len(order))
	for i, uh := range order {
		calls[i] = scriptCall{uh, stale[uh]}
	}
	_, err := evalAll(ctx, c, unindexScript, calls)
	return err
}

// scriptCall is one call of a script on one key.
type scriptCall struct {
	key  string
	args []any
}

// evalAll runs sc once per call in one pipeline of EVALSHAs on c (split
// by node on a cluster); the calls a server answers NOSCRIPT, not knowing
// the script yet, are run again one by one with EVAL. It returns the
// commands, in the order of calls, or the first error of one.
func evalAll(ctx context.Context, c redis.Cmdable, sc *redis.Script, calls []scriptCall) ([]*redis.Cmd, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.Cmd, len(calls))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, call := range calls {
			cmds[i] = sc.EvalSha(ctx, p, []string{call.key}, call.args...)
		}
		return nil
	})
	if err != nil && !isNoScript(err) {
		return nil, err
	}
	for i, call := range calls {
		if isNoScript(cmds[i].Err()) {
			cmds[i] = sc.Run(ctx, c, []string{call.key}, call.args...)
		}
		if err := cmds[i].Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	return cmds, nil
}

func isNoScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}
