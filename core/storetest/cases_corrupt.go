package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// testSaveRefusesNonRecords checks that Save and SaveDelta refuse bytes
// that are not a record with an error matching [core.ErrCorrupt] and leave
// what was stored as it was: accepting them would lose them, since Load
// reports such bytes as not found.
func testSaveRefusesNonRecords(t *testing.T, s core.Store) {
	ctx := t.Context()
	exp := at(time.Hour)
	good := Record(exp, "a", "1")
	truncated := good[:len(good)-1]
	badVersion := append([]byte(nil), good...)
	badVersion[0] = record.Version + 1
	shortEntry := record.Append(nil, Header(false, exp), []record.Entry{{Key: "a", Value: []byte("1")}})
	junk := map[string][]byte{
		"nil":           nil,
		"empty":         {},
		"v":             []byte("v"),
		"short header":  good[:record.HeaderSize-1],
		"bad version":   badVersion,
		"truncated":     truncated,
		"short entry":   shortEntry,
		"bad length":    append(Header(false, exp), 0xff),
		"trailing byte": append(append([]byte(nil), good...), 5),
	}
	for name, data := range junk {
		if err := s.Save(ctx, "new", data, exp); !errors.Is(err, core.ErrCorrupt) {
			t.Errorf("Save(%s) of a new key: %v, want an error matching ErrCorrupt", name, err)
		}
		wantMissing(t, s, "new")

		save(t, s, "old", good, exp)
		if err := s.Save(ctx, "old", data, exp); !errors.Is(err, core.ErrCorrupt) {
			t.Errorf("Save(%s) over a record: %v, want an error matching ErrCorrupt", name, err)
		}
		wantRecord(t, s, "old", good)
	}

	past := at(-time.Second)
	if err := s.Save(ctx, "old", []byte("v"), past); !errors.Is(err, core.ErrCorrupt) {
		t.Errorf("Save of junk with a past expiry: %v, want an error matching ErrCorrupt", err)
	}
	wantRecord(t, s, "old", good)

	for _, p := range deltaPaths(s) {
		for _, create := range []bool{true, false} {
			key := "old"
			if create {
				key = p.name + "-new"
			}
			d := &record.Delta{Create: create, Header: []byte("v"), Expiry: exp, Set: Entries("b", "2")}
			if err := p.fn(ctx, key, d); !errors.Is(err, core.ErrCorrupt) {
				t.Errorf("%s: SaveDelta (create %v) with a junk header: %v, want an error matching ErrCorrupt", p.name, create, err)
			}
		}
		wantMissing(t, s, p.name+"-new")
		wantRecord(t, s, "old", good)
	}
}
