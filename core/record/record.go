// Package record is the layout of a sessionkit record, for store authors:
// the bytes a core.Store keeps for one session, the [Delta] one request
// makes to it and the rules for applying a delta ([Apply]).
//
// A record is a header (format version, remember-me flag, expiry, creation
// time) followed by the session's entries, each an opaque key and an
// encoded value with its own deadline. A store keeps records whole (memory,
// file, SQL, Memcache: load, [Apply], save inside a lock, transaction or
// CAS loop) or splits them into a header and one field per key (a Redis
// hash) and rebuilds them with [Append]; either way Load returns what Save
// was given, and every read of the header bytes goes through this package.
//
// A session bound to a user keeps its binding as an entry of its own,
// under the reserved key [BindingKey] (see [Binding]); stores with a user
// index read it with [FindBinding] and [DeltaBinding].
//
// Every function here accepts hostile bytes: what is not a record is an
// error matching [ErrCorrupt], never a panic.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the record rules. Package core re-exports them (core.ErrCorrupt
// is ErrCorrupt), so either name matches with [errors.Is].
var (
	// ErrCorrupt is returned when bytes are not a record of a known
	// version: bad header, bad length prefix, truncated entry.
	ErrCorrupt = errors.New("core: corrupt session record")

	// ErrSessionGone is returned by [Apply] (and a store's SaveDelta) when
	// a delta is for an existing session but no live record exists any
	// more: it was deleted (logout, Renew elsewhere) or expired. Such a
	// session is never recreated.
	ErrSessionGone = errors.New("core: session no longer exists")

	// ErrSessionExists is returned by [Apply] (and a store's SaveDelta)
	// when a new session is written insert-if-absent and the key already
	// holds a live record.
	ErrSessionExists = errors.New("core: session already exists")
)

// Record layout, version 1. All integers are big-endian; times are Unix
// nanoseconds, 0 meaning "none".
//
//	header (HeaderSize bytes)
//	  [0]      format version (1)
//	  [1]      flags: bit 0 = remember-me
//	  [2:10]   expiry: the session's effective deadline (the earlier of the
//	           idle and absolute deadlines); equals the store's expiry
//	  [10:18]  created: start of the absolute lifetime
//	entries, repeated until the end of the data
//	  uvarint key length, key bytes
//	  uvarint entry length, entry bytes
//	entry
//	  [0:8]    the key's own deadline (0: none)
//	  [8:]     the value as encoded by the manager's codec
//
// A reader that meets a version it does not know returns [ErrCorrupt]; a
// later release that changes the layout bumps the version and keeps
// reading version 1.
const (
	// Version is the record format version this release writes.
	Version = 1
	// HeaderSize is the size in bytes of a record header.
	HeaderSize = 18

	flagRemember = 1 << 0
	entryHeader  = 8
)

// Entry is one session key inside a record or a [Delta]. Value is the
// encoded entry (deadline and codec bytes) built with [EncodeEntry];
// stores treat it as opaque bytes.
type Entry struct {
	// Key is the session key, as the application named it.
	Key string
	// Value is the encoded entry: its deadline and the codec's bytes.
	Value []byte
}

// Header is what a record's header holds.
type Header struct {
	// Remember is the session's remember-me flag.
	Remember bool
	// Expiry is the session's effective deadline: the earlier of its idle
	// and absolute deadlines. It equals the store's expiry of the record.
	Expiry time.Time
	// Created is the start of the session's absolute lifetime.
	Created time.Time
}

// Record is a decoded record: its header and its entries, whose values are
// still encoded (see [DecodeEntry]).
type Record struct {
	Header
	// Entries are the record's entries, in the order they are stored.
	Entries []Entry
}

// Delta is the change one request makes to a session, as handed to
// core.DeltaStore.SaveDelta. Applying it is defined by [Apply]; a store
// with a native structure (a Redis hash) may apply it natively but must
// produce the same result. Like an io.Writer with its buffer, a store must
// not keep a Delta, nor any slice it holds, after SaveDelta returns: the
// caller may reuse them.
type Delta struct {
	// Create makes the save insert-if-absent: it fails with
	// [ErrSessionExists] when a live record exists. Without Create the save
	// fails with [ErrSessionGone] when no live record exists.
	Create bool
	// Clear drops every stored entry before Set is applied, except the
	// user binding (under [BindingKey]): a session's binding changes only
	// by a delta that sets or deletes it, so that a request holding a
	// binding read before another request changed it cannot write it back.
	Clear bool
	// Header, when not nil, replaces the stored header, and the record's
	// expiry becomes Expiry. When nil the stored header is kept and the
	// expiry becomes the later of the stored one and Expiry, so that a slow
	// request cannot shorten a deadline a concurrent one extended.
	Header []byte
	// Expiry is the new deadline of the record (see Header).
	Expiry time.Time
	// Set holds the entries to add or replace.
	Set []Entry
	// Delete holds the keys to remove.
	Delete []string
}

func putTime(b []byte, t time.Time) {
	binary.BigEndian.PutUint64(b, uint64(unixNano(t)))
}

func getTime(b []byte) time.Time {
	return timeOf(int64(binary.BigEndian.Uint64(b)))
}

// unixNano is t in Unix nanoseconds, 0 for the zero time: how records,
// and a core.Session in memory, keep their times.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeOf is the time of n Unix nanoseconds, the zero time for 0.
func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// NewHeader returns a header for a record with the given remember-me
// flag, creation time and expiry.
func NewHeader(remember bool, created, expiry time.Time) []byte {
	return AppendHeader(make([]byte, 0, HeaderSize), Header{Remember: remember, Created: created, Expiry: expiry})
}

// AppendHeader appends the header h to dst, every byte of it written
// afresh: nothing of what dst's room held before can reach the result.
func AppendHeader(dst []byte, h Header) []byte {
	var flags byte
	if h.Remember {
		flags |= flagRemember
	}
	dst = append(dst, Version, flags)
	dst = binary.BigEndian.AppendUint64(dst, uint64(unixNano(h.Expiry)))
	return binary.BigEndian.AppendUint64(dst, uint64(unixNano(h.Created)))
}

func checkHeader(data []byte) error {
	if len(data) < HeaderSize {
		return fmt.Errorf("%w: %d bytes, shorter than a header", ErrCorrupt, len(data))
	}
	if data[0] != Version {
		return fmt.Errorf("%w: unknown format version %d", ErrCorrupt, data[0])
	}
	return nil
}

// Check returns nil when data is a well-formed record (a header of a
// known version followed by complete entries) and otherwise an error
// matching [ErrCorrupt]. It allocates nothing. Every store's Save calls it
// first: bytes that are not a record would be reported as not found by
// Load, so a store refuses them instead of accepting and losing them.
func Check(data []byte) error {
	if err := checkHeader(data); err != nil {
		return err
	}
	return walkEntries(data[HeaderSize:], func(_, _ []byte) {})
}

// Expiry returns the expiry kept in the header of data.
func Expiry(data []byte) (time.Time, error) {
	if err := checkHeader(data); err != nil {
		return time.Time{}, err
	}
	return getTime(data[2:10]), nil
}

// SetExpiry overwrites, in place, the expiry kept in the header of
// data. Stores that keep the expiry apart from the data (a SQL column, a
// server TTL) use it to make a loaded record agree with their own deadline.
func SetExpiry(data []byte, expiry time.Time) error {
	if err := checkHeader(data); err != nil {
		return err
	}
	putTime(data[2:10], expiry)
	return nil
}

// ParseHeader decodes the header of data. It checks the header only, not
// the entries that follow (see [Check]).
func ParseHeader(data []byte) (Header, error) {
	if err := checkHeader(data); err != nil {
		return Header{}, err
	}
	return Header{
		Remember: data[1]&flagRemember != 0,
		Expiry:   getTime(data[2:10]),
		Created:  getTime(data[10:18]),
	}, nil
}

// Parse decodes data into a [Record]. Entry values are sub-slices of data,
// not copies. Hostile input yields [ErrCorrupt], never a panic. The whole
// record is checked before anything is allocated, and the entries are then
// allocated once at their exact number: Parse allocates at most about four
// times len(data) (an [Entry] is 40 bytes, an entry in data at least 10),
// and nothing for data that is not a record. The keys of the entries share
// one string.
func Parse(data []byte) (Record, error) {
	h, err := ParseHeader(data)
	if err != nil {
		return Record{}, err
	}
	r := Record{Header: h}
	n, keyBytes := 0, 0
	if err := Walk(data, func(key, _ []byte) { n, keyBytes = n+1, keyBytes+len(key) }); err != nil {
		return Record{}, err
	}
	if n == 0 {
		return r, nil
	}
	// One allocation of the keys' total length rather than one per key,
	// whose size-class rounding alone could exceed the bound for records
	// of many tiny keys.
	var kb strings.Builder
	kb.Grow(keyBytes)
	_ = Walk(data, func(key, _ []byte) { kb.Write(key) })
	keys := kb.String()
	r.Entries = make([]Entry, 0, n)
	_ = Walk(data, func(key, entry []byte) {
		r.Entries = append(r.Entries, Entry{Key: keys[:len(key)], Value: entry})
		keys = keys[len(key):]
	})
	return r, nil
}

// Count returns the number of entries of the record data, checking the
// whole record without allocating: a reader sizes what it builds from
// the entries once, by a count the data really holds.
func Count(data []byte) (int, error) {
	n := 0
	err := Walk(data, func(_, _ []byte) { n++ })
	return n, err
}

// Walk calls fn with the key and the encoded entry of every entry of the
// record data, in order, without allocating; key and entry alias data and
// are valid only during the call. It returns an error matching
// [ErrCorrupt] when data is not a record, possibly after calling fn for
// the entries before the damage.
func Walk(data []byte, fn func(key, entry []byte)) error {
	if err := checkHeader(data); err != nil {
		return err
	}
	return walkEntries(data[HeaderSize:], fn)
}

// walkEntries calls fn for every entry of body; key and value alias body.
func walkEntries(body []byte, fn func(key, value []byte)) error {
	for len(body) > 0 {
		key, value, rest, err := nextEntry(body)
		if err != nil {
			return err
		}
		fn(key, value)
		body = rest
	}
	return nil
}

// nextEntry splits the first entry off a non-empty record body.
func nextEntry(body []byte) (key, value, rest []byte, err error) {
	key, rest, err = readChunk(body)
	if err != nil {
		return nil, nil, nil, err
	}
	value, rest, err = readChunk(rest)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(value) < entryHeader {
		return nil, nil, nil, fmt.Errorf("%w: entry of %d bytes", ErrCorrupt, len(value))
	}
	return key, value, rest, nil
}

func readChunk(b []byte) (chunk, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, nil, fmt.Errorf("%w: bad length prefix", ErrCorrupt)
	}
	b = b[k:]
	if n > uint64(len(b)) {
		return nil, nil, fmt.Errorf("%w: length %d exceeds the %d bytes left", ErrCorrupt, n, len(b))
	}
	return b[:n], b[n:], nil
}

// Append appends a record made of header and entries to dst. Stores
// that keep entries apart (one hash field per key) use it to rebuild the
// data that Load returns.
func Append(dst, header []byte, entries []Entry) []byte {
	dst = append(dst, header...)
	for _, e := range entries {
		dst = appendEntry(dst, e.Key, e.Value)
	}
	return dst
}

func appendEntry(dst []byte, key string, value []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	return append(dst, value...)
}

// EncodeEntry appends to dst an entry value with the given per-key
// deadline (zero: none) and codec bytes.
func EncodeEntry(dst []byte, deadline time.Time, value []byte) []byte {
	return append(AppendEntryDeadline(dst, deadline), value...)
}

// AppendEntryDeadline appends to dst the start of an entry value, its
// per-key deadline (zero: none); the codec bytes follow it. It lets a
// writer encode a value straight after its deadline, without the copy
// [EncodeEntry] makes.
func AppendEntryDeadline(dst []byte, deadline time.Time) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(unixNano(deadline)))
}

// EntrySize returns the number of bytes an entry with a key of keyLen
// bytes and an entry value of entryLen bytes takes in a record.
func EntrySize(keyLen, entryLen int) int {
	return uvarintLen(uint64(keyLen)) + keyLen + uvarintLen(uint64(entryLen)) + entryLen
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// DecodeEntry splits an entry value into its deadline and codec bytes,
// which alias entry.
func DecodeEntry(entry []byte) (deadline time.Time, value []byte, err error) {
	if len(entry) < entryHeader {
		return time.Time{}, nil, fmt.Errorf("%w: entry of %d bytes", ErrCorrupt, len(entry))
	}
	return getTime(entry[:entryHeader]), entry[entryHeader:], nil
}

// EntryExpired reports whether an encoded entry's own deadline has passed
// at now. Malformed entries count as expired.
func EntryExpired(entry []byte, now time.Time) bool {
	return entryExpired(entry, now.UnixNano())
}

// entryExpired is EntryExpired at now in Unix nanoseconds.
func entryExpired(entry []byte, now int64) bool {
	if len(entry) < entryHeader {
		return true
	}
	d := int64(binary.BigEndian.Uint64(entry[:entryHeader]))
	return d != 0 && now >= d
}

// Live reports whether data starts with a well-formed header whose expiry
// is after now. It reads the header only: a record with a damaged body is
// live until a reader of its entries ([Parse], [Walk], [Apply]) reports
// [ErrCorrupt].
func Live(data []byte, now time.Time) bool {
	exp, err := Expiry(data)
	return err == nil && exp.After(now)
}

// Apply applies d to the record old (found reports whether the store
// had one) at time now and returns the new record and its expiry. It
// implements the [Delta] rules: insert-if-absent, no resurrection, header
// and expiry handling, and it drops entries whose own deadline has passed.
// An old record that is expired or whose header is corrupt counts as
// absent; a live one whose entries are damaged is an error matching
// [ErrCorrupt] (nothing is written over it). Stores that
// keep whole records (memory, file, SQL, Memcache) call it inside their
// lock, transaction or CAS loop.
func Apply(old []byte, found bool, d *Delta, now time.Time) ([]byte, time.Time, error) {
	live := found && Live(old, now)
	if d.Create && live {
		return nil, time.Time{}, ErrSessionExists
	}
	if !d.Create && !live {
		return nil, time.Time{}, ErrSessionGone
	}
	header := d.Header
	expiry := d.Expiry
	if header == nil {
		if !live {
			return nil, time.Time{}, fmt.Errorf("core: delta creates a session without a header")
		}
		header = old[:HeaderSize]
		if oldExp := getTime(old[2:10]); oldExp.After(expiry) {
			expiry = oldExp
		}
	} else if err := checkHeader(header); err != nil {
		return nil, time.Time{}, err
	}

	size := HeaderSize
	for _, e := range d.Set {
		size += len(e.Key) + len(e.Value) + 2*binary.MaxVarintLen32
	}
	if live {
		size += len(old) - HeaderSize
	}
	out := make([]byte, HeaderSize, size)
	copy(out, header)
	putTime(out[2:10], expiry)

	nowNs := now.UnixNano()
	if live {
		for body := old[HeaderSize:]; len(body) > 0; {
			key, value, rest, err := nextEntry(body)
			if err != nil {
				return nil, time.Time{}, err
			}
			body = rest
			if (d.Clear && string(key) != BindingKey) || deletedOrSet(d, key) || entryExpired(value, nowNs) {
				continue
			}
			out = binary.AppendUvarint(out, uint64(len(key)))
			out = append(out, key...)
			out = binary.AppendUvarint(out, uint64(len(value)))
			out = append(out, value...)
		}
	}
	for i, e := range d.Set {
		if containsEntry(d.Set[i+1:], e.Key) || entryExpired(e.Value, nowNs) {
			continue // a later Set of the same key wins
		}
		out = appendEntry(out, e.Key, e.Value)
	}
	return out, expiry, nil
}

// deletedOrSet reports whether d deletes or sets key. The string
// conversions in the comparisons do not allocate.
func deletedOrSet(d *Delta, key []byte) bool {
	for _, x := range d.Delete {
		if x == string(key) {
			return true
		}
	}
	for i := range d.Set {
		if d.Set[i].Key == string(key) {
			return true
		}
	}
	return false
}

func containsEntry(es []Entry, k string) bool {
	for _, e := range es {
		if e.Key == k {
			return true
		}
	}
	return false
}
