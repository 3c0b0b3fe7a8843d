package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
)

// created is the creation time written into every header built here; a
// fixed value lets the suite notice a store that rewrites headers.
var created = time.Unix(1_700_000_000, 0)

// Header returns a record header with the given remember-me flag and
// expiry and a fixed creation time.
func Header(remember bool, expiry time.Time) []byte {
	return record.NewHeader(remember, created, expiry)
}

// Entries turns key/value pairs into record entries without a deadline of
// their own: Entries("a", "1", "b", "2"). It panics when kv has an odd
// length.
func Entries(kv ...string) []record.Entry {
	if len(kv)%2 != 0 {
		panic("storetest: Entries needs key/value pairs")
	}
	es := make([]record.Entry, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		es = append(es, record.Entry{Key: kv[i], Value: record.EncodeEntry(nil, time.Time{}, []byte(kv[i+1]))})
	}
	return es
}

// ExpiringEntry returns an entry holding value that expires on its own at
// deadline.
func ExpiringEntry(key, value string, deadline time.Time) record.Entry {
	return record.Entry{Key: key, Value: record.EncodeEntry(nil, deadline, []byte(value))}
}

// Record returns an encoded record expiring at expiry that holds the
// key/value pairs kv (see [Entries]). Its header has remember-me off and a
// fixed creation time.
func Record(expiry time.Time, kv ...string) []byte {
	return record.Append(nil, Header(false, expiry), Entries(kv...))
}

// Values decodes the record data and returns its entries as a map from key
// to value (the codec bytes after the entry's deadline). A record that
// cannot be decoded fails t.
func Values(t testing.TB, data []byte) map[string]string {
	t.Helper()
	r, err := record.Parse(data)
	if err != nil {
		t.Fatalf("loaded data is not a record: %v", err)
	}
	m := make(map[string]string, len(r.Entries))
	for _, e := range r.Entries {
		_, v, err := record.DecodeEntry(e.Value)
		if err != nil {
			t.Fatalf("entry %q: %v", e.Key, err)
		}
		m[e.Key] = string(v)
	}
	return m
}

// SameRecord reports, as an error describing the first difference, whether
// got and want encode the same record: same flags, creation time and
// the same entries in any order (a store may keep them
// in a hash), and expiries less than a millisecond apart (a
// store that keeps the expiry apart from the data may patch the header
// with its own millisecond-precise copy). It returns nil when they match.
func SameRecord(got, want []byte) error {
	g, err := record.Parse(got)
	if err != nil {
		return fmt.Errorf("got data that is not a record: %w", err)
	}
	w, err := record.Parse(want)
	if err != nil {
		return fmt.Errorf("want data that is not a record: %w", err)
	}
	if g.Remember != w.Remember {
		return fmt.Errorf("remember flag = %v, want %v", g.Remember, w.Remember)
	}
	if !g.Created.Equal(w.Created) {
		return fmt.Errorf("created = %v, want %v", g.Created, w.Created)
	}
	if d := g.Expiry.Sub(w.Expiry); d <= -time.Millisecond || d >= time.Millisecond {
		return fmt.Errorf("expiry = %v, want %v (off by %v)", g.Expiry, w.Expiry, d)
	}
	if len(g.Entries) != len(w.Entries) {
		return fmt.Errorf("%d entries %s, want %d %s", len(g.Entries), keysOf(g.Entries), len(w.Entries), keysOf(w.Entries))
	}
	wantVals := make(map[string][]byte, len(w.Entries))
	for _, e := range w.Entries {
		wantVals[e.Key] = e.Value
	}
	seen := make(map[string]bool, len(g.Entries))
	for _, e := range g.Entries {
		wv, ok := wantVals[e.Key]
		switch {
		case seen[e.Key]:
			return fmt.Errorf("entry %q appears twice", e.Key)
		case !ok:
			return fmt.Errorf("unexpected entry %q (entries %s, want %s)", e.Key, keysOf(g.Entries), keysOf(w.Entries))
		case !bytes.Equal(e.Value, wv):
			return fmt.Errorf("entry %q = %q, want %q", e.Key, e.Value, wv)
		}
		seen[e.Key] = true
	}
	return nil
}

func keysOf(es []record.Entry) string {
	ks := make([]string, len(es))
	for i, e := range es {
		ks[i] = e.Key
	}
	return fmt.Sprintf("%q", ks)
}

// at returns now+d truncated to the millisecond, the precision every store
// must keep.
func at(d time.Duration) time.Time {
	return time.Now().Add(d).Truncate(time.Millisecond)
}
