package storetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// refStore implements every capability the plain way, and can be told to
// break one rule so that the suite's own tests can check it notices.
type refStore struct {
	bug    string
	mu     sync.Mutex
	m      map[string]refEntry
	closed bool
}

type refEntry struct {
	data   []byte
	expiry time.Time
}

func (s *refStore) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil && s.bug != "ignores-context" {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return core.ErrClosed
	}
	return nil
}

func (s *refStore) key(k string) string {
	if s.bug == "truncates-keys" && len(k) > 200 {
		return k[:200]
	}
	return k
}

func (s *refStore) live(e refEntry, ok bool) bool {
	if s.bug == "returns-expired" {
		return ok
	}
	return ok && e.expiry.After(time.Now()) && record.Live(e.data, time.Now())
}

func (s *refStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.begin(ctx); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[s.key(key)]
	if !s.live(e, ok) {
		return nil, false, nil
	}
	return e.data, true, nil
}

func (s *refStore) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := record.Check(data); err != nil && s.bug != "accepts-junk" {
		return err
	}
	if s.bug == "writes-too-large" && len(data) > 100<<10 {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.m[s.key(key)] = refEntry{data[:len(data)/2], expiry}
		return core.ErrTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bug != "aliases-save" {
		data = bytes.Clone(data)
	}
	s.m[s.key(key)] = refEntry{data, expiry}
	return nil
}

func (s *refStore) Delete(ctx context.Context, key string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, s.key(key))
	return nil
}

func (s *refStore) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	e, ok := s.m[s.key(key)]
	if s.bug == "loses-updates" {
		s.mu.Unlock()
		runtime.Gosched()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	now := time.Now()
	found := s.live(e, ok)
	if s.bug == "creates-over-live" && d.Create {
		found = false
	}
	data, expiry, err := record.Apply(e.data, found, d, now)
	if errors.Is(err, core.ErrSessionGone) && s.bug == "resurrects" && d.Header != nil {
		c := *d
		c.Create = true
		data, expiry, err = record.Apply(nil, false, &c, now)
	}
	if err != nil {
		return err
	}
	if s.bug == "shortens-expiry" && d.Header == nil {
		expiry = d.Expiry
		if err := record.SetExpiry(data, expiry); err != nil {
			return err
		}
	}
	if s.bug == "stale-native-expiry" {
		expiry = e.expiry
	}
	s.m[s.key(key)] = refEntry{data, expiry}
	return nil
}

func (s *refStore) Touch(ctx context.Context, key string, expiry time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[s.key(key)]
	if !s.live(e, ok) {
		if s.bug == "touch-creates" {
			s.m[s.key(key)] = refEntry{storetest.Record(expiry), expiry}
		}
		return nil
	}
	data := e.data
	if s.bug != "touch-in-place" {
		data = bytes.Clone(data)
	}
	if err := record.SetExpiry(data, expiry); err != nil {
		return err
	}
	if s.bug == "stale-native-expiry" {
		expiry = e.expiry
	}
	s.m[s.key(key)] = refEntry{data, expiry}
	return nil
}

func (s *refStore) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if err := s.begin(ctx); err != nil {
		return 0, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[s.key(key)]
	if !s.live(e, ok) {
		return 0, false, nil
	}
	ttl := time.Until(e.expiry)
	if s.bug == "wrong-ttl" {
		ttl *= 2
	}
	return ttl, true, nil
}

func (s *refStore) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	var keys []string
	var datas [][]byte
	for k, e := range s.m {
		if s.live(e, true) {
			keys, datas = append(keys, k), append(datas, e.data)
		}
	}
	s.mu.Unlock()
	for i := range keys {
		if !fn(keys[i], datas[i]) && s.bug != "iterate-ignores-stop" {
			return nil
		}
	}
	return nil
}

func (s *refStore) Count(ctx context.Context) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.m {
		if s.live(e, true) || s.bug == "counts-expired" {
			n++
		}
	}
	return n, nil
}

func (s *refStore) Clear(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
	return nil
}

func (s *refStore) Cleanup(ctx context.Context) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, e := range s.m {
		if !s.live(e, true) || s.bug == "cleanup-removes-live" {
			delete(s.m, k)
			n++
		}
	}
	return n, nil
}

func (s *refStore) Close() error {
	if s.bug == "close-noop" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func newRefStore(bug string) func(t *testing.T) core.Store {
	return func(t *testing.T) core.Store {
		s := &refStore{bug: bug, m: map[string]refEntry{}}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestRefStore(t *testing.T) {
	storetest.Run(t, newRefStore(""))
}

// TestBrokenStore runs the suite on a refStore with the bug named by
// STORETEST_BUG; TestSuiteCatchesBugs runs it in a child process and
// expects it to fail.
func TestBrokenStore(t *testing.T) {
	bug := os.Getenv("STORETEST_BUG")
	if bug == "" {
		t.Skip("run by TestSuiteCatchesBugs")
	}
	storetest.Run(t, newRefStore(bug))
}

func TestSuiteCatchesBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	bugs := map[string]string{ // bug → the subtest that must fail
		"returns-expired":      "Expiry",
		"aliases-save":         "NoAliasing",
		"loses-updates":        "ConcurrentDelta",
		"creates-over-live":    "CreateIfAbsent",
		"resurrects":           "NoResurrection",
		"shortens-expiry":      "SaveDelta",
		"stale-native-expiry":  "ExpiryFollowsUpdates",
		"touch-creates":        "Touch",
		"touch-in-place":       "LoadedDataStable",
		"wrong-ttl":            "TTL",
		"iterate-ignores-stop": "IterateCountClear",
		"counts-expired":       "IterateCountClear",
		"cleanup-removes-live": "IterateCountClear",
		"close-noop":           "Close",
		"truncates-keys":       "OddKeys",
		"ignores-context":      "DoneContext",
		"writes-too-large":     "Large",
		"accepts-junk":         "SaveRefusesNonRecords",
	}
	for bug, subtest := range bugs {
		t.Run(bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0],
				"-test.run=^TestBrokenStore$/^"+subtest+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), "STORETEST_BUG="+bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store that %s; output:\n%s", bug, out)
			}
			want := fmt.Sprintf("--- FAIL: TestBrokenStore/%s ", subtest)
			if !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		})
	}
}
