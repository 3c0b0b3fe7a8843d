package record

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// BindingKey is the reserved entry key under which a record keeps its
// user binding (see [Binding]). Keys starting with a NUL byte are core's
// own: sessions never list them.
const BindingKey = "\x00user"

// Binding is what a record bound to a user keeps under [BindingKey]: the
// user ID, the session's handle and the generation a store stamped at
// bind time.
//
// A store with a user index (core.UserStore) reads the binding of the
// records it writes to keep its index: [DeltaBinding] says whether a
// delta changes it, [FindBinding] reads it from a whole record.
type Binding struct {
	// User is the ID of the user the session is bound to, never empty.
	User string
	// Handle is the session's stable, non-secret name: kept by Renew,
	// new for every binding.
	Handle string
	// Gen is the generation a store stamped at bind time, 0 when none
	// was stamped yet. Core writes 0 when a session is bound and carries
	// the stored value through Renew, so that a store can tell a new
	// binding (Gen 0) from one carried by Renew to a new record (Gen not
	// 0), which it writes only while the binding's index entry still
	// exists. Stores without generations stamp any non-zero value.
	Gen uint64
}

// Binding entry value, version 1, after the entry's 8-byte deadline
// (always 0: a binding lasts as long as its session):
//
//	[0]       binding version (1)
//	[1:9]     generation, big-endian
//	[9]       handle length h
//	[10:10+h] handle
//	[10+h:]   user ID
const (
	bindingVersion = 1
	bindingFixed   = entryHeader + 10
	// maxHandle bounds a handle's length (one byte holds it).
	maxHandle = 255
)

// EncodeBinding appends to dst the entry value (for [BindingKey]) that
// holds b. It returns an error when b has no user or an overlong handle.
func EncodeBinding(dst []byte, b Binding) ([]byte, error) {
	if b.User == "" {
		return dst, fmt.Errorf("record: binding without a user")
	}
	if len(b.Handle) == 0 || len(b.Handle) > maxHandle {
		return dst, fmt.Errorf("record: binding handle of %d bytes", len(b.Handle))
	}
	dst = AppendEntryDeadline(dst, time.Time{})
	dst = append(dst, bindingVersion)
	dst = binary.BigEndian.AppendUint64(dst, b.Gen)
	dst = append(dst, byte(len(b.Handle)))
	dst = append(dst, b.Handle...)
	return append(dst, b.User...), nil
}

// DecodeBinding decodes an entry value written by [EncodeBinding]. What is
// not one is an error matching [ErrCorrupt].
func DecodeBinding(entry []byte) (Binding, error) {
	if len(entry) < bindingFixed || entry[entryHeader] != bindingVersion {
		return Binding{}, fmt.Errorf("%w: bad user binding", ErrCorrupt)
	}
	p := entry[entryHeader:]
	h := int(p[9])
	if h == 0 || len(p) <= 10+h {
		return Binding{}, fmt.Errorf("%w: bad user binding", ErrCorrupt)
	}
	hu := string(p[10:]) // the handle and the user ID in one allocation
	return Binding{
		Gen:    binary.BigEndian.Uint64(p[1:9]),
		Handle: hu[:h],
		User:   hu[h:],
	}, nil
}

// FindBinding returns the binding of the record data; found is false for
// a record bound to no user. Data that is not a record, or a binding that
// cannot be decoded, is an error matching [ErrCorrupt].
func FindBinding(data []byte) (b Binding, found bool, err error) {
	var entry []byte
	if err := Walk(data, func(key, e []byte) {
		if string(key) == BindingKey {
			entry = e
		}
	}); err != nil {
		return Binding{}, false, err
	}
	if entry == nil {
		return Binding{}, false, nil
	}
	b, err = DecodeBinding(entry)
	return b, err == nil, err
}

// SetGen overwrites, in place, the generation of the binding in the
// record data; found is false when data is bound to no user. A store
// that stamps generations (see [Binding]) calls it on the record it is
// about to write.
func SetGen(data []byte, gen uint64) (found bool, err error) {
	var entry []byte
	if err := Walk(data, func(key, e []byte) {
		if string(key) == BindingKey {
			entry = e
		}
	}); err != nil {
		return false, err
	}
	if entry == nil {
		return false, nil
	}
	if _, err := DecodeBinding(entry); err != nil {
		return false, err
	}
	binary.BigEndian.PutUint64(entry[entryHeader+1:], gen)
	return true, nil
}

// SetEntryGen overwrites, in place, the generation of a binding entry
// value (as [EncodeBinding] writes it and a delta's Set carries it).
func SetEntryGen(entry []byte, gen uint64) error {
	if _, err := DecodeBinding(entry); err != nil {
		return err
	}
	binary.BigEndian.PutUint64(entry[entryHeader+1:], gen)
	return nil
}

// DeltaBinding reports what d does to the binding of its record. changed
// is false when d leaves the binding as stored (Clear keeps it, see
// [Delta]): then a store's index needs no work. When changed, bound says
// whether the record is bound after d and b is its binding; an unbound
// result (bound false) comes from a delta that deletes [BindingKey], or
// from a create that does not set it. A binding entry that cannot be
// decoded is an error matching [ErrCorrupt].
func DeltaBinding(d *Delta) (b Binding, bound, changed bool, err error) {
	for i := len(d.Set) - 1; i >= 0; i-- { // the last Set of a key wins
		if d.Set[i].Key == BindingKey {
			b, err = DecodeBinding(d.Set[i].Value)
			return b, err == nil, err == nil, err
		}
	}
	if d.Create {
		return Binding{}, false, true, nil
	}
	for _, k := range d.Delete {
		if k == BindingKey {
			return Binding{}, false, true, nil
		}
	}
	return Binding{}, false, false, nil
}

// UserKey returns the key a user index files the user ID under: the
// lowercase hex SHA-256 of "user\x00" and the ID, so that an index never
// holds user IDs in the clear and never collides with a session key.
func UserKey(user string) string {
	h := sha256.New()
	h.Write([]byte("user\x00"))
	h.Write([]byte(user))
	return hex.EncodeToString(h.Sum(nil))
}
