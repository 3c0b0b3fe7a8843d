package filestore_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/filestore"
)

// A file store keeps one file per session in a directory of its own, which
// it creates with mode 0700; sessions survive restarts of a
// single-instance app.
func ExampleNew() {
	parent, err := os.MkdirTemp("", "sessions-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(parent)

	store, err := filestore.New(filepath.Join(parent, "sessions"))
	if err != nil {
		panic(err) // e.g. a directory others can write to
	}
	defer store.Close()
	m := core.NewManager(store)
	_ = m // serve with m.Handler(mux), or an adapter's FromManager(m)

	fi, err := os.Stat(store.Dir())
	if err != nil {
		panic(err)
	}
	fmt.Println(fi.Mode().Perm())
	// Output: -rwx------
}
