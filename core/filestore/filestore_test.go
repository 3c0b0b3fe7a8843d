package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

func newTestFileStore(t testing.TB, dir string, opts ...filestore.Option) *filestore.Store {
	t.Helper()
	s, err := filestore.New(dir, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// fileTestRecord returns a record expiring at exp holding the given
// key/value pairs.
func fileTestRecord(exp time.Time, kv ...string) []byte {
	var es []record.Entry
	for i := 0; i+1 < len(kv); i += 2 {
		es = append(es, record.Entry{Key: kv[i], Value: record.EncodeEntry(nil, time.Time{}, []byte(kv[i+1]))})
	}
	return record.Append(nil, record.NewHeader(false, time.Now(), exp), es)
}

// fileStoreFiles returns the names of the session files in dir.
func fileStoreFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestFileStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) core.Store {
		return newTestFileStore(t, t.TempDir())
	})
}

func TestFileStoreOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for want, opts := range map[string][]filestore.Option{
		"filestore: WithCleanupInterval(-1s): ": {filestore.WithCleanupInterval(-time.Second)},
		"filestore: WithMaxRecordSize(0): ":     {filestore.WithMaxRecordSize(0)},
		"filestore: New: nil Option":            {nil},
	} {
		s, err := filestore.New(dir, opts...)
		if err == nil {
			s.Close()
			t.Errorf("New with a bad option succeeded, want an error starting %q", want)
		} else if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("New with a bad option: %v, want an error starting %q", err, want)
		}
	}
	if _, err := filestore.New(""); err == nil {
		t.Error("New(\"\") succeeded, want an error")
	}

	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := filestore.New(file)
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("New on a regular file: %v, want an error naming %s", err, file)
	}
}

func TestFileStorePermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions on Windows")
	}
	dir := filepath.Join(t.TempDir(), "a", "sessions")
	s := newTestFileStore(t, dir)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	if err := s.Save(ctx, "k", fileTestRecord(exp, "a", "1"), exp); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveDelta(ctx, "d", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode %o, want 700", got)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sessions, locks int
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode(); got != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", e.Name(), got)
		}
		switch {
		case strings.HasPrefix(e.Name(), ".lock-"):
			locks++
		case strings.HasPrefix(e.Name(), ".tmp-"):
			t.Errorf("temp file %s left behind", e.Name())
		default:
			sessions++
		}
	}
	if sessions != 2 || locks == 0 {
		t.Errorf("%d session files and %d lock files, want 2 and at least 1", sessions, locks)
	}

	// An existing directory is used as it is.
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	s2 := newTestFileStore(t, dir)
	if _, found, err := s2.Load(ctx, "k"); err != nil || !found {
		t.Errorf("second store: Load = %v, %v; want the record", found, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("existing directory's mode changed: %v, %v", fi.Mode(), err)
	}
}

func TestFileStorePathSafety(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	s := newTestFileStore(t, dir)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	keys := []string{
		"../../x", "/etc/passwd", "a/../../b", "..", ".", "", ".lock-00", ".tmp-x",
		"a\x00b", `..\..\win`, "C:\\x", strings.Repeat("../", 200) + "deep",
		strings.Repeat("k", 10000),
	}
	for _, k := range keys {
		if err := s.Save(ctx, k, fileTestRecord(exp, "k", k), exp); err != nil {
			t.Fatalf("Save(%q): %v", k, err)
		}
	}
	err := filepath.WalkDir(parent, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == parent || path == dir {
			return nil
		}
		if filepath.Dir(path) != dir || d.IsDir() {
			t.Errorf("unexpected path %s outside the store's directory %s", path, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(fileStoreFiles(t, dir)); got != len(keys) {
		t.Errorf("%d session files, want %d", got, len(keys))
	}
	seen := map[string]bool{}
	if err := s.Iterate(ctx, func(key string, data []byte) bool {
		seen[key] = true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !seen[k] {
			t.Errorf("Iterate did not return key %q", k)
		}
		data, found, err := s.Load(ctx, k)
		if err != nil || !found {
			t.Errorf("Load(%q) = %v, %v", k, found, err)
			continue
		}
		rec, err := record.Parse(data)
		if err != nil || len(rec.Entries) != 1 || !bytes.HasSuffix(rec.Entries[0].Value, []byte(k)) {
			t.Errorf("Load(%q) returned another key's record", k)
		}
	}
}

func TestFileStoreCorruptFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newTestFileStore(t, dir)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)

	// saveFile saves a valid record under key and returns its file's path
	// and content.
	saveFile := func(key string) (string, []byte) {
		t.Helper()
		before := map[string]bool{}
		for _, n := range fileStoreFiles(t, dir) {
			before[n] = true
		}
		if err := s.Save(ctx, key, fileTestRecord(exp, "a", "1"), exp); err != nil {
			t.Fatal(err)
		}
		for _, n := range fileStoreFiles(t, dir) {
			if !before[n] {
				p := filepath.Join(dir, n)
				content, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				return p, content
			}
		}
		t.Fatalf("no new file for key %q", key)
		return "", nil
	}
	good, goodData := saveFile("good")
	patch := func(b []byte, at int, with ...byte) []byte {
		b = append([]byte(nil), b...)
		copy(b[at:], with)
		return b
	}
	// Each case turns the valid file of its key into a damaged one.
	cases := map[string]func(valid []byte) []byte{
		"empty":      func([]byte) []byte { return nil },
		"garbage":    func([]byte) []byte { return []byte("this is not a session file at all") },
		"short":      func(v []byte) []byte { return v[:10] },
		"badmagic":   func(v []byte) []byte { return patch(v, 0, 'X') },
		"badversion": func(v []byte) []byte { return patch(v, 4, 9) },
		"hugekeylen": func(v []byte) []byte { return patch(v, 13, 0xff, 0xff, 0xff, 0xff) },
		"nodata":     func(v []byte) []byte { return v[:17+len("nodata")] },
		"cutrecord":  func(v []byte) []byte { return v[:17+len("cutrecord")+10] },
		"badrecord":  func(v []byte) []byte { return patch(v, 17+len("badrecord"), 77) },
		"expired":    func(v []byte) []byte { return patch(v, 5, 0, 0, 0, 0, 0, 0, 0, 1) },
		// A well-formed file of another key under this key's name: Load
		// must not return it, Iterate must not report it.
		"other": func([]byte) []byte { return goodData },
	}
	corrupt := map[string]string{}
	for k, damage := range cases {
		p, valid := saveFile(k)
		if err := os.WriteFile(p, damage(valid), 0o600); err != nil {
			t.Fatal(err)
		}
		corrupt[k] = p
	}

	for k := range corrupt {
		if data, found, err := s.Load(ctx, k); err != nil || found {
			t.Errorf("Load(%q) of a corrupt file = %q, %v, %v; want not found, nil", k, data, found, err)
		}
		if _, found, err := s.TTL(ctx, k); err != nil || found {
			t.Errorf("TTL(%q) of a corrupt file = %v, %v; want not found, nil", k, found, err)
		}
		if err := s.Touch(ctx, k, exp); err != nil {
			t.Errorf("Touch(%q) of a corrupt file: %v, want nil", k, err)
		}
		if err := s.SaveDelta(ctx, k, &record.Delta{Expiry: exp}); !errors.Is(err, core.ErrSessionGone) {
			t.Errorf("SaveDelta(%q) over a corrupt file: %v, want ErrSessionGone", k, err)
		}
	}
	if n, err := s.Count(ctx); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1", n, err)
	}
	var keys []string
	if err := s.Iterate(ctx, func(key string, _ []byte) bool { keys = append(keys, key); return true }); err != nil || len(keys) != 1 || keys[0] != "good" {
		t.Errorf("Iterate = %q, %v; want [good]", keys, err)
	}

	n, err := s.Cleanup(ctx)
	if err != nil || n != len(corrupt) {
		t.Errorf("Cleanup = %d, %v; want %d, nil", n, err, len(corrupt))
	}
	if got := fileStoreFiles(t, dir); len(got) != 1 || filepath.Join(dir, got[0]) != good {
		t.Errorf("after Cleanup: %q, want only the good file", got)
	}
	if _, found, err := s.Load(ctx, "good"); err != nil || !found {
		t.Errorf("Load(good) after Cleanup = %v, %v", found, err)
	}
	// A new session may be created over a corrupt file.
	if err := os.WriteFile(corrupt["other"], []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveDelta(ctx, "other", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp}); err != nil {
		t.Errorf("SaveDelta create over a corrupt file: %v", err)
	}
}

func TestFileStoreCleanup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	ctx := t.Context()
	live := time.Now().Add(time.Hour)
	past := time.Now().Add(-time.Second)
	for i := range 3 {
		k := strconv.Itoa(i)
		if err := s.Save(ctx, "live"+k, fileTestRecord(live), live); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, "dead"+k, fileTestRecord(past), past); err != nil {
			t.Fatal(err)
		}
	}
	// A record whose header is live but whose file expiry has passed is
	// expired too.
	if err := s.Save(ctx, "mixed", fileTestRecord(live), past); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Load(ctx, "mixed"); found {
		t.Error("Load returned a record whose file expiry has passed")
	}
	stale := filepath.Join(dir, ".tmp-stale")
	fresh := filepath.Join(dir, ".tmp-fresh")
	foreign := filepath.Join(dir, "README")
	for _, p := range []string{stale, fresh, foreign} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	n, err := s.Cleanup(ctx)
	if err != nil || n != 4 {
		t.Errorf("Cleanup = %d, %v; want 4, nil", n, err)
	}
	if c, err := s.Count(ctx); err != nil || c != 3 {
		t.Errorf("Count = %d, %v; want 3", c, err)
	}
	if got := len(fileStoreFiles(t, dir)); got != 4 { // 3 live + README
		t.Errorf("%d visible files after Cleanup, want 4", got)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file kept: %v", err)
	}
	for _, p := range []string{fresh, foreign} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Cleanup removed %s: %v", p, err)
		}
	}

	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Count(ctx); err != nil || c != 0 {
		t.Errorf("Count after Clear = %d, %v; want 0", c, err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("Clear removed a file that is not a session: %v", err)
	}
	locks, _ := filepath.Glob(filepath.Join(dir, ".lock-*"))
	if runtime.GOOS != "windows" && len(locks) == 0 {
		t.Error("Clear removed the lock files")
	}
}

func TestFileStoreTooLarge(t *testing.T) {
	t.Parallel()
	s := newTestFileStore(t, t.TempDir(), filestore.WithMaxRecordSize(100))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	big := fileTestRecord(exp, "v", strings.Repeat("x", 100))
	err := s.Save(ctx, "k", big, exp)
	if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "100") {
		t.Errorf("Save of %d bytes: %v, want ErrTooLarge naming the limit 100", len(big), err)
	}
	small := fileTestRecord(exp, "v", "x")
	if err := s.Save(ctx, "k", small, exp); err != nil {
		t.Fatal(err)
	}
	d := &record.Delta{Expiry: exp, Set: []record.Entry{{Key: "w", Value: record.EncodeEntry(nil, time.Time{}, bytes.Repeat([]byte("y"), 90))}}}
	if err := s.SaveDelta(ctx, "k", d); !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("SaveDelta growing past the limit: %v, want ErrTooLarge", err)
	}
	data, found, err := s.Load(ctx, "k")
	if err != nil || !found || !bytes.Equal(data, small) {
		t.Errorf("record changed by a refused SaveDelta")
	}
}

// TestFileStoreTwoStoresOneDir runs delta saves from two stores sharing a
// directory in one process: their in-process mutexes are distinct, so only
// the flock keeps the saves atomic.
func TestFileStoreTwoStoresOneDir(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no cross-process locking on Windows")
	}
	dir := t.TempDir()
	stores := []*filestore.Store{newTestFileStore(t, dir), newTestFileStore(t, dir)}
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	if err := stores[0].SaveDelta(ctx, "shared", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			s := stores[w%2]
			for i := range each {
				d := &record.Delta{Expiry: exp, Set: []record.Entry{{Key: fmt.Sprintf("w%d-%d", w, i), Value: record.EncodeEntry(nil, time.Time{}, []byte("v"))}}}
				if err := s.SaveDelta(ctx, "shared", d); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantFileKeys(t, stores[1], "shared", workers*each)
}

// wantFileKeys fails t unless the record under key holds n entries.
func wantFileKeys(t *testing.T, s core.Store, key string, n int) {
	t.Helper()
	data, found, err := s.Load(t.Context(), key)
	if err != nil || !found {
		t.Fatalf("Load(%q) = %v, %v", key, found, err)
	}
	rec, err := record.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Entries) != n {
		t.Errorf("record holds %d entries, want %d (lost updates)", len(rec.Entries), n)
	}
}

const (
	fileHelperDirEnv   = "SESSIONKIT_FILESTORE_HELPER_DIR"
	fileHelperIDEnv    = "SESSIONKIT_FILESTORE_HELPER_ID"
	fileHelperStartEnv = "SESSIONKIT_FILESTORE_HELPER_START"
	fileHelperSaves    = 200
)

// TestFileStoreMultiProcess runs two copies of the test binary at once,
// each making delta saves of distinct keys to one session in a shared
// directory, and checks that no update was lost.
func TestFileStoreMultiProcess(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no cross-process locking on Windows")
	}
	if testing.Short() {
		t.Skip("starts two processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	dir := t.TempDir()
	s := newTestFileStore(t, dir)
	exp := time.Now().Add(time.Hour)
	if err := s.SaveDelta(t.Context(), "shared", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	// Both helpers wait for the same instant so that their saves overlap.
	start := time.Now().Add(500 * time.Millisecond).UnixNano()
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for id := range 2 {
		cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestFileStoreHelperProcess$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(),
			fileHelperDirEnv+"="+dir,
			fileHelperIDEnv+"="+strconv.Itoa(id),
			fileHelperStartEnv+"="+strconv.FormatInt(start, 10))
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper %d: %v\n%s", i, err, outs[i])
		} else if !strings.Contains(outs[i].String(), "helper done") {
			t.Errorf("helper %d did not run:\n%s", i, outs[i])
		}
	}
	wantFileKeys(t, s, "shared", 2*fileHelperSaves)
	data, _, _ := s.Load(t.Context(), "shared")
	rec, _ := record.Parse(data)
	have := map[string]bool{}
	for _, e := range rec.Entries {
		have[e.Key] = true
	}
	for id := range 2 {
		for i := range fileHelperSaves {
			if k := fmt.Sprintf("p%d-%d", id, i); !have[k] {
				t.Errorf("key %s lost", k)
			}
		}
	}
}

// TestFileStoreHelperProcess is the child of TestFileStoreMultiProcess; it
// does nothing in a normal test run.
func TestFileStoreHelperProcess(t *testing.T) {
	dir := os.Getenv(fileHelperDirEnv)
	if dir == "" {
		t.Skip("helper process of TestFileStoreMultiProcess")
	}
	id := os.Getenv(fileHelperIDEnv)
	start, err := strconv.ParseInt(os.Getenv(fileHelperStartEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestFileStore(t, dir)
	time.Sleep(time.Until(time.Unix(0, start)))
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for i := range fileHelperSaves {
		d := &record.Delta{Expiry: exp, Set: []record.Entry{{Key: fmt.Sprintf("p%s-%d", id, i), Value: record.EncodeEntry(nil, time.Time{}, []byte(id))}}}
		if err := s.SaveDelta(ctx, "shared", d); err != nil {
			t.Fatalf("SaveDelta %d: %v", i, err)
		}
	}
	t.Log("helper done")
}

// TestFileStoreSweeper is not parallel: it counts the sweeper goroutines of
// every file store in the process, and parallel tests are paused while it
// runs.
func TestFileStoreSweeper(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.WithCleanupInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	past := time.Now().Add(-time.Second)
	live := time.Now().Add(time.Hour)
	if err := s.Save(ctx, "dead", fileTestRecord(past), past); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "live", fileTestRecord(live), live); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(fileStoreFiles(t, dir)) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("sweeper did not remove the expired file: %q", fileStoreFiles(t, dir))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := fileSweepers(); n != 1 {
		t.Fatalf("%d sweeper goroutines running, want 1", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := fileSweepers(); n != 0 {
		t.Errorf("%d sweeper goroutines after Close, want 0", n)
	}
	if _, _, err := s.Load(ctx, "live"); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// No sweeper at all with a zero interval.
	s2, err := filestore.New(dir, filestore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n := fileSweepers(); n != 0 {
		t.Errorf("%d sweeper goroutines with a zero interval, want 0", n)
	}
}

// fileSweepers counts the goroutines running a file store's sweeper.
func fileSweepers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "filestore.(*Store).sweep(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func BenchmarkFileStoreLoad(b *testing.B) {
	s := newTestFileStore(b, b.TempDir())
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	rec := fileTestRecord(exp, "user_id", "42", "name", strings.Repeat("n", 40), "csrf", strings.Repeat("c", 32))
	key := strings.Repeat("ab", 32)
	if err := s.Save(ctx, key, rec, exp); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, found, err := s.Load(ctx, key); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

func BenchmarkFileStoreSaveDelta(b *testing.B) {
	s := newTestFileStore(b, b.TempDir())
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	rec := fileTestRecord(exp, "user_id", "42", "name", strings.Repeat("n", 40), "csrf", strings.Repeat("c", 32))
	key := strings.Repeat("ab", 32)
	if err := s.Save(ctx, key, rec, exp); err != nil {
		b.Fatal(err)
	}
	d := &record.Delta{Expiry: exp, Set: []record.Entry{{Key: "counter", Value: record.EncodeEntry(nil, time.Time{}, []byte("1"))}}}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SaveDelta(ctx, key, d); err != nil {
			b.Fatal(err)
		}
	}
}
