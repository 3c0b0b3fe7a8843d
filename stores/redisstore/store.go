package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// Store is a [core.Store] that keeps each session as a Redis hash. It
// implements every optional capability of core: [core.DeltaStore],
// [core.TakeStore], [core.TouchStore], [core.TTLStore], [core.IterStore],
// [core.CountStore], [core.ClearStore], [core.CleanupStore],
// [core.UserStore] (a hash per user, see the package doc) and
// [io.Closer].
//
// A Store is safe for concurrent use by multiple goroutines.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	maxSize int
	closed  atomic.Bool
}

var (
	_ core.DeltaStore   = (*Store)(nil)
	_ core.TakeStore    = (*Store)(nil)
	_ core.TouchStore   = (*Store)(nil)
	_ core.TTLStore     = (*Store)(nil)
	_ core.IterStore    = (*Store)(nil)
	_ core.CountStore   = (*Store)(nil)
	_ core.ClearStore   = (*Store)(nil)
	_ core.CleanupStore = (*Store)(nil)
)

// New returns a store that keeps sessions in Redis through client: a
// *redis.Client, *redis.ClusterClient, *redis.Ring or a failover client.
// The store does not own client; closing it stays the caller's job. New
// does not contact the server. It fails when client is nil or an option is
// invalid (an empty prefix, a size limit that is not positive).
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	c := config{prefix: DefaultPrefix, maxSize: DefaultMaxSize}
	for _, o := range opts {
		o(&c)
	}
	if c.prefix == "" {
		return nil, errors.New("redisstore: empty key prefix (Clear would empty the whole database)")
	}
	if c.maxSize <= 0 {
		return nil, fmt.Errorf("redisstore: size limit %d is not positive", c.maxSize)
	}
	return &Store{client: client, prefix: c.prefix, maxSize: c.maxSize}, nil
}

// check reports why the store may not be used now: it is closed or ctx
// is done.
func (s *Store) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("redisstore: %s: %w", op, core.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return nil
}

func (s *Store) tooLarge(size int64) error {
	return fmt.Errorf("record of %d bytes exceeds the limit of %d bytes: %w", size, s.maxSize, core.ErrTooLarge)
}

// Load returns the record under key in one HGETALL, rebuilt with its
// entries sorted by key and without the entries whose own deadline has
// passed. The returned slice is new and the caller's to keep.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "load"); err != nil {
		return nil, false, err
	}
	fields, err := s.client.HGetAll(ctx, s.prefix+key).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: load: %w", err)
	}
	data, ok := buildRecord(fields, time.Now())
	return data, ok, nil
}

// buildRecord turns the fields of a session hash into a record, or
// reports false when the hash holds no live record at now.
func buildRecord(fields map[string]string, now time.Time) ([]byte, bool) {
	header, ok := fields[fieldHeader]
	if !ok || len(header) < record.HeaderSize {
		return nil, false
	}
	header = header[:record.HeaderSize]
	type field struct{ name, value string }
	entries := make([]field, 0, len(fields))
	size := len(header)
	for f, v := range fields {
		if strings.HasPrefix(f, entryPrefix) && !expired(v, now) {
			entries = append(entries, field{f, v})
			size += len(f) + len(v) + 2*binary.MaxVarintLen32
		}
	}
	// Sorting by field name sorts by key: every name has the same prefix.
	slices.SortFunc(entries, func(a, b field) int { return strings.Compare(a.name, b.name) })
	data := make([]byte, 0, size)
	data = append(data, header...)
	if !record.Live(data, now) {
		return nil, false
	}
	for _, e := range entries {
		k := e.name[len(entryPrefix):]
		data = binary.AppendUvarint(data, uint64(len(k)))
		data = append(data, k...)
		data = binary.AppendUvarint(data, uint64(len(e.value)))
		data = append(data, e.value...)
	}
	return data, true
}

// expired is record.EntryExpired for an entry held in a string.
func expired(v string, now time.Time) bool {
	if len(v) < 8 {
		return true
	}
	n := int64(binary.BigEndian.Uint64([]byte(v[:8])))
	return n != 0 && now.UnixNano() >= n
}

// Save replaces the record under key with data, valid until expiry, in
// one script call. The header kept in Redis carries expiry, so a later
// Load returns data with [record.Expiry] equal to it. Bytes that are
// not a record are refused with an error matching [core.ErrCorrupt].
// A record bound to a user costs one more round trip: its index entry
// is written first (Save may overwrite a live record), and a record that
// was bound otherwise before has its old entry removed after (one more).
// A new binding's entry is written again after the record (one more),
// since a listing between the two may have pruned it. A binding stamped
// before (Gen not 0, as a Renew carries it) is written only while its
// entry exists: the record first, then the entry is repointed, or the
// record is deleted again and Save fails with an error matching
// [core.ErrSessionGone].
func (s *Store) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := s.check(ctx, "save"); err != nil {
		return err
	}
	if len(data) > s.maxSize {
		return fmt.Errorf("redisstore: save: %w", s.tooLarge(int64(len(data))))
	}
	rec, err := record.Parse(data)
	if err != nil {
		return fmt.Errorf("redisstore: save: %w", err)
	}
	header := make([]byte, record.HeaderSize)
	copy(header, data)
	if err := record.SetExpiry(header, expiry); err != nil {
		return fmt.Errorf("redisstore: save: %w", err)
	}
	d := record.Delta{Header: header, Expiry: expiry, Set: rec.Entries}
	return s.saveIndexed(ctx, key, &d)
}

// SaveDelta applies d to the record under key atomically, in one script
// call once the server knows the script. It returns errors matching
// [core.ErrSessionExists], [core.ErrSessionGone] and [core.ErrTooLarge]
// as [core.DeltaStore] describes. A delta that changes the record's user
// binding also keeps the user index, in one or two more round trips (see
// the package doc, "User index"); a delta that leaves the binding alone
// costs the script call alone.
func (s *Store) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if err := s.check(ctx, "save delta"); err != nil {
		return err
	}
	var header []byte
	if d.Header != nil {
		if _, err := record.ParseHeader(d.Header); err != nil {
			return fmt.Errorf("redisstore: save delta: header: %w", err)
		}
		header = make([]byte, record.HeaderSize)
		copy(header, d.Header)
		if err := record.SetExpiry(header, d.Expiry); err != nil {
			return fmt.Errorf("redisstore: save delta: %w", err)
		}
	}
	dd := *d
	dd.Header = header
	return s.saveDeltaIndexed(ctx, key, &dd)
}

// run calls saveScript. Of several Sets of one key the last wins; a Set
// whose entry is already past its deadline (or malformed) becomes a
// Delete, as record.Apply drops such entries. With wantOld it also
// returns the binding entry the record held before (nil when none), so
// that the user index can drop an entry the write made stale.
func (s *Store) run(ctx context.Context, op, mode, key string, d *record.Delta, now time.Time, wantOld bool) (old []byte, err error) {
	flags := "00"
	switch {
	case d.Clear && wantOld:
		flags = "11"
	case d.Clear:
		flags = "10"
	case wantOld:
		flags = "01"
	}
	args := make([]any, 0, 8+len(d.Delete)+2*len(d.Set))
	args = append(args, mode, timeBytes(now), string(d.Header), timeBytes(d.Expiry), flags, s.maxSize, 0, unixMillisUp(d.Expiry))
	var size int64 = record.HeaderSize
	for _, k := range d.Delete {
		args = append(args, k)
	}
	for i, e := range d.Set {
		if lastSet(d.Set[i+1:], e.Key) && record.EntryExpired(e.Value, now) {
			args = append(args, e.Key)
		}
	}
	ndel := len(args) - 8
	args[6] = ndel
	for i, e := range d.Set {
		if lastSet(d.Set[i+1:], e.Key) && !record.EntryExpired(e.Value, now) {
			args = append(args, e.Key, e.Value)
			size += int64(len(e.Key) + len(e.Value))
		}
	}
	if size > int64(s.maxSize) {
		// Certainly too large whatever is stored: spare the round trip.
		return nil, fmt.Errorf("redisstore: %s: %w", op, s.tooLarge(size))
	}
	cmd := saveScript.Run(ctx, s.client, []string{s.prefix + key}, args...)
	var res []int64
	if wantOld {
		res, old, err = oldBindingReply(cmd)
	} else {
		res, err = cmd.Int64Slice()
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("redisstore: %s: unexpected script reply %v", op, res)
	}
	switch res[0] {
	case codeOK:
		return old, nil
	case codeExists:
		return nil, fmt.Errorf("redisstore: %s: %w", op, core.ErrSessionExists)
	case codeGone:
		return nil, fmt.Errorf("redisstore: %s: %w", op, core.ErrSessionGone)
	case codeTooLarge:
		return nil, fmt.Errorf("redisstore: %s: %w", op, s.tooLarge(res[1]))
	case codeNoHeader:
		return nil, fmt.Errorf("redisstore: %s: delta creates a session without a header", op)
	}
	return nil, fmt.Errorf("redisstore: %s: unexpected script reply %v", op, res)
}

// oldBindingReply reads a reply of saveScript asked for the binding
// stored before: {code, size} or {code, size, binding}.
func oldBindingReply(cmd *redis.Cmd) (res []int64, old []byte, err error) {
	vals, err := cmd.Slice()
	if err != nil {
		return nil, nil, err
	}
	if len(vals) != 2 && len(vals) != 3 {
		return nil, nil, fmt.Errorf("unexpected script reply %v", vals)
	}
	for _, v := range vals[:2] {
		n, ok := v.(int64)
		if !ok {
			return nil, nil, fmt.Errorf("unexpected script reply %v", vals)
		}
		res = append(res, n)
	}
	if len(vals) == 3 {
		b, ok := vals[2].(string)
		if !ok {
			return nil, nil, fmt.Errorf("unexpected script reply %v", vals)
		}
		old = []byte(b)
	}
	return res, old, nil
}

// unixMillisUp returns t in Unix milliseconds, rounded up so that a key
// never expires in Redis before its record does.
func unixMillisUp(t time.Time) string {
	ns := t.UnixNano()
	ms := ns / 1e6
	if ns%1e6 > 0 {
		ms++
	}
	return strconv.FormatInt(ms, 10)
}

// lastSet reports whether no entry of rest has key k.
func lastSet(rest []record.Entry, k string) bool {
	for _, e := range rest {
		if e.Key == k {
			return false
		}
	}
	return true
}

// timeBytes encodes t as the record header does: 8 bytes big-endian Unix
// nanoseconds, zero for the zero time.
func timeBytes(t time.Time) string {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return string(b[:])
}

// Delete removes the record under key; a missing key is not an error.
// It is one DEL: the user index entry of a bound record is left behind,
// stale, and pruned when the user's sessions are next listed or
// destroyed.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, "delete"); err != nil {
		return err
	}
	if err := s.client.Del(ctx, s.prefix+key).Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	return nil
}

// Take deletes the record under key and returns it if it is live, in one
// script call once the server knows the script: the script reads the
// hash, judges it by the expiry in its header (as Load does; Redis has
// already dropped a hash whose TTL ran out) and deletes it, so of
// concurrent Takes exactly one gets the record. A hash that is not live
// (expired, or without a well-formed header) is deleted too and reported
// as found == false. The script touches only this key, so it runs
// unchanged on Redis Cluster. A record bound to a user leaves, in the
// same script, a taken mark under its key for a minute: a hash without a
// header, which no read takes for a session, that keeps its user's index
// entry from being pruned while Renew carries the binding to the new
// record. The returned slice is new and the caller's to keep.
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "take"); err != nil {
		return nil, false, err
	}
	now := time.Now()
	flat, err := takeScript.Run(ctx, s.client, []string{s.prefix + key}, timeBytes(now), takenGrace.Milliseconds()).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: take: %w", err)
	}
	if len(flat)%2 != 0 {
		return nil, false, fmt.Errorf("redisstore: take: unexpected script reply of %d values", len(flat))
	}
	fields := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		fields[flat[i]] = flat[i+1]
	}
	// The script judged the header at now; so does buildRecord, so a
	// record the script deleted as live is returned.
	data, ok := buildRecord(fields, now)
	return data, ok, nil
}

// Touch moves the deadline of the live record under key to expiry, in its
// header and its server TTL, in one script call. Touching a missing or
// expired record does nothing and returns nil; an expiry in the past
// deletes the record.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) error {
	if err := s.check(ctx, "touch"); err != nil {
		return err
	}
	err := touchScript.Run(ctx, s.client, []string{s.prefix + key}, timeBytes(time.Now()), timeBytes(expiry)).Err()
	if err != nil {
		return fmt.Errorf("redisstore: touch: %w", err)
	}
	return nil
}

// TTL returns the time left before the record under key expires, read
// from the exact expiry kept in its header (one HGET).
func (s *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if err := s.check(ctx, "ttl"); err != nil {
		return 0, false, err
	}
	h, err := s.client.HGet(ctx, s.prefix+key, fieldHeader).Bytes()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("redisstore: ttl: %w", err)
	}
	exp, err := record.Expiry(h)
	if err != nil {
		return 0, false, nil
	}
	ttl := time.Until(exp)
	if ttl <= 0 {
		return 0, false, nil
	}
	return ttl, true, nil
}

// Cleanup does nothing and returns 0: Redis removes expired sessions
// itself through the TTL every save sets.
func (s *Store) Cleanup(ctx context.Context) (int, error) {
	if err := s.check(ctx, "cleanup"); err != nil {
		return 0, err
	}
	return 0, nil
}

// Close makes every later call fail with an error wrapping
// [core.ErrClosed]. It does not close the Redis client, which the caller
// owns. Close is safe to call more than once and always returns nil.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}
