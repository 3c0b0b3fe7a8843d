package sessiontest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

func TestNoRawIDMemoryStore(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	sessiontest.CheckNoRawID(t, st, func(t *testing.T) []string {
		var out []string
		err := st.Iterate(context.Background(), func(key string, data []byte) bool {
			out = append(out, key, string(data))
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
}

func TestNoRawIDFileStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sessiontest.CheckNoRawID(t, st, func(t *testing.T) []string {
		var out []string
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			out = append(out, d.Name(), string(b))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
}

func TestTooLargeMemoryStore(t *testing.T) {
	t.Parallel()
	st := memstore.New(memstore.WithMaxRecordSize(4096))
	t.Cleanup(func() { st.Close() })
	sessiontest.CheckTooLarge(t, st, 4096)
}

func TestTooLargeFileStore(t *testing.T) {
	t.Parallel()
	st, err := filestore.New(t.TempDir(), filestore.WithMaxRecordSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sessiontest.CheckTooLarge(t, st, 4096)
}
