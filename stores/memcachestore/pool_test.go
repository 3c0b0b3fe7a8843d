package memcachestore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// TestPool runs one client over two memcached servers of its own, stops
// one, and checks that its sessions fail loudly (never as missing) while
// the other server's keep working; once it is back, empty, its sessions
// are simply gone and new ones can be written.
func TestPool(t *testing.T) {
	t.Parallel()
	a, b := startMemcached(t, 0), startMemcached(t, 0)
	ss := new(memcache.ServerList)
	if err := ss.SetServers(a.addr, b.addr); err != nil {
		t.Fatal(err)
	}
	c := memcache.NewFromSelector(ss)
	c.Timeout = testTimeout
	t.Cleanup(func() { c.Close() })
	s, err := New(c, WithPrefix(randomPrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	create := func(key, v string) error {
		return s.SaveDelta(ctx, key, &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp, Set: []record.Entry{entry("v", v)}})
	}
	update := func(key, v string) error {
		return s.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: []record.Entry{entry("v", v)}})
	}
	value := func(key string) (string, bool, error) {
		data, found, err := s.Load(ctx, key)
		if err != nil || !found {
			return "", found, err
		}
		return storetest.Values(t, data)["v"], true, nil
	}

	var onA, onB []string
	for i := range 40 {
		sum := sha256.Sum256(fmt.Append(nil, i))
		key := hex.EncodeToString(sum[:])
		if err := create(key, "1"); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		addr, err := ss.PickServer(s.itemKey(key))
		if err != nil {
			t.Fatal(err)
		}
		if addr.String() == a.addr {
			onA = append(onA, key)
		} else {
			onB = append(onB, key)
		}
	}
	if len(onA) == 0 || len(onB) == 0 {
		t.Fatalf("sessions per server: %d and %d; want some on each", len(onA), len(onB))
	}
	for _, key := range onB {
		if _, found := serverTTL(t, b.addr, s.itemKey(key)); !found {
			t.Fatalf("server B does not hold %s", key)
		}
	}

	b.stop()

	for _, key := range onA {
		if err := update(key, "2"); err != nil {
			t.Errorf("update on the live server: %v", err)
		}
		if v, found, err := value(key); err != nil || !found || v != "2" {
			t.Errorf("Load on the live server = %q, %v, %v; want 2", v, found, err)
		}
		if err := s.Touch(ctx, key, exp); err != nil {
			t.Errorf("Touch on the live server: %v", err)
		}
	}
	for _, key := range onB {
		if _, found, err := s.Load(ctx, key); err == nil || found {
			t.Errorf("Load on the stopped server = found %v, err %v; want an error", found, err)
		}
		if _, found, err := s.TTL(ctx, key); err == nil || found {
			t.Errorf("TTL on the stopped server = found %v, err %v; want an error", found, err)
		}
		for name, err := range map[string]error{
			"update": update(key, "2"),
			"create": create(key, "2"),
			"Save":   s.Save(ctx, key, storetest.Record(exp), exp),
			"Touch":  s.Touch(ctx, key, exp),
			"Delete": s.Delete(ctx, key),
		} {
			if err == nil || errors.Is(err, core.ErrSessionGone) || errors.Is(err, core.ErrSessionExists) {
				t.Errorf("%s on the stopped server = %v, want a connection error", name, err)
			}
		}
	}
	if t.Failed() {
		return
	}

	startMemcached(t, b.port) // empty, same address

	for _, key := range onB {
		if _, found, err := s.Load(ctx, key); err != nil || found {
			t.Errorf("Load after the restart = found %v, err %v; want not found", found, err)
		}
		if err := update(key, "3"); !errors.Is(err, core.ErrSessionGone) {
			t.Errorf("update after the restart = %v, want ErrSessionGone", err)
		}
		if err := create(key, "new"); err != nil {
			t.Errorf("create after the restart: %v", err)
		}
		if v, found, err := value(key); err != nil || !found || v != "new" {
			t.Errorf("Load of the fresh session = %q, %v, %v; want new", v, found, err)
		}
	}
	for _, key := range onA {
		if v, found, err := value(key); err != nil || !found || v != "2" {
			t.Errorf("Load on the other server after the restart = %q, %v, %v; want 2", v, found, err)
		}
	}
}
