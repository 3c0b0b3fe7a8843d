package sqlitestore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// Environment of the helper processes of TestTwoProcesses.
const (
	helperDBEnv  = "SQLITESTORE_HELPER_DB"
	helperIDEnv  = "SQLITESTORE_HELPER_ID"
	helperGoEnv  = "SQLITESTORE_HELPER_GO"
	helperPeer   = "SQLITESTORE_HELPER_PEER"
	helperWrites = 100
	sharedKey    = "shared"
)

// TestTwoProcesses runs two OS processes (this test binary again) that
// write the same database file at once: each applies helperWrites deltas
// of distinct keys to one shared session and creates sessions of its own.
// No write may be lost and neither may see "database is locked".
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no test executable:", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "shared.db")
	s := openAt(t, path)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	if err := s.SaveDelta(ctx, sharedKey, &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp}); err != nil {
		t.Fatal(err)
	}

	goFile := filepath.Join(dir, "go")
	ids := []string{"p1", "p2"}
	cmds := make([]*exec.Cmd, len(ids))
	outs := make([]*bytes.Buffer, len(ids))
	for i, id := range ids {
		cmd := exec.Command(exe, "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v", "-test.timeout=60s")
		cmd.Env = append(os.Environ(), helperDBEnv+"="+path, helperIDEnv+"="+id, helperGoEnv+"="+goFile,
			helperPeer+"="+ids[1-i])
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	// Both processes start writing at the same moment.
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(cmds))
	for i, cmd := range cmds {
		wg.Go(func() { errs[i] = cmd.Wait() })
	}
	wg.Wait()
	for i, id := range ids {
		out := outs[i].String()
		if errs[i] != nil || !strings.Contains(out, "--- PASS: TestHelperProcess") {
			t.Errorf("process %s: %v\n%s", id, errs[i], out)
		}
		if strings.Contains(out, "locked") || strings.Contains(out, "SQLITE_BUSY") {
			t.Errorf("process %s saw a locked database:\n%s", id, out)
		}
	}

	var windows [][2]int64
	for _, out := range outs {
		var w [2]int64
		if i := strings.Index(out.String(), "window "); i >= 0 {
			fmt.Sscanf(out.String()[i:], "window %d %d", &w[0], &w[1])
			windows = append(windows, w)
		}
	}
	if len(windows) == 2 {
		overlap := time.Duration(min(windows[0][1], windows[1][1]) - max(windows[0][0], windows[1][0]))
		t.Logf("the two processes wrote at the same time for %v", max(overlap, 0))
	}

	data, found, err := s.Load(ctx, sharedKey)
	if err != nil || !found {
		t.Fatalf("shared session: found=%v err=%v", found, err)
	}
	v := storetest.Values(t, data)
	for _, id := range ids {
		for i := range helperWrites {
			k := fmt.Sprintf("%s-%d", id, i)
			if v[k] != k {
				t.Errorf("shared session lost key %s", k)
			}
		}
		for i := 0; i < helperWrites; i += 10 {
			k := fmt.Sprintf("own-%s-%d", id, i)
			if data, found, err := s.Load(ctx, k); err != nil || !found || storetest.Values(t, data)["by"] != id {
				t.Errorf("session %s: found=%v err=%v", k, found, err)
			}
		}
	}
	if len(v) != len(ids)*helperWrites {
		t.Errorf("shared session holds %d keys, want %d", len(v), len(ids)*helperWrites)
	}
}

// TestHelperProcess is one writer of TestTwoProcesses; it does nothing
// unless that test started it.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperDBEnv)
	if path == "" {
		t.Skip("helper of TestTwoProcesses")
	}
	id, goFile, peer := os.Getenv(helperIDEnv), os.Getenv(helperGoEnv), os.Getenv(helperPeer)
	s, err := sqlitestore.Open(path, sqlitestore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(goFile); err == nil {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("no start signal")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	begin := time.Now()
	defer func() { t.Logf("window %d %d", begin.UnixNano(), time.Now().UnixNano()) }()
	exp := time.Now().Add(time.Hour)
	for i := range helperWrites {
		k := fmt.Sprintf("%s-%d", id, i)
		if err := s.SaveDelta(ctx, sharedKey, &record.Delta{Expiry: exp, Set: storetest.Entries(k, k)}); err != nil {
			t.Fatalf("SaveDelta %s: %v", k, err)
		}
		if i%10 == 0 && i > 0 {
			// Stay within ten writes of the other process, so that the two
			// really write at the same time even on a busy machine.
			waitFor(ctx, t, s, fmt.Sprintf("%s-%d", peer, i-10))
		}
		if i%10 == 0 {
			own := fmt.Sprintf("own-%s-%d", id, i)
			d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("by", id)}
			if err := s.SaveDelta(ctx, own, d); err != nil {
				t.Fatalf("SaveDelta %s: %v", own, err)
			}
			if err := s.Touch(ctx, own, exp.Add(time.Minute)); err != nil {
				t.Fatalf("Touch %s: %v", own, err)
			}
		}
		if _, _, err := s.Load(ctx, sharedKey); err != nil {
			t.Fatalf("Load: %v", err)
		}
	}
}

// waitFor polls the shared session until it holds key.
func waitFor(ctx context.Context, t *testing.T, s *sqlitestore.Store, key string) {
	for {
		data, found, err := s.Load(ctx, sharedKey)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if found {
			if _, ok := storetest.Values(t, data)[key]; ok {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the other process never wrote %s", key)
		case <-time.After(time.Millisecond):
		}
	}
}
